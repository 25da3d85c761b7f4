import { sleep } from '../lib/clock.js'
import { rssBytes, tcpSockstat } from '../lib/proc-stat.js'
import { LoadGroup, MAX_CONNECTIONS_PER_WORKER } from '../load/load-group.js'
import type { TargetName } from '../targets/target-config.js'
import { startTarget } from '../targets/target.js'
import { measureWindow, round } from './window.js'

/** Memory of a server process, read over IPC after a full GC (and RSS from /proc). */
interface MemorySample {
  rssBytes: number
  heapUsedBytes: number
  externalBytes: number
  arrayBuffersBytes: number
}

/**
 * The process's RSS once it settled after the full GC just asked for: the least of five
 * readings 200 ms apart (the heap gives pages back over a moment, and a single reading taken
 * while it does varies by a few MB between runs). The same for every target.
 */
async function settledRss(pid: number): Promise<number> {
  let least = rssBytes(pid)
  for (let i = 0; i < 4; i++) {
    await sleep(200)
    least = Math.min(least, rssBytes(pid))
  }
  return least
}

/** What the idle-memory scenario measured for one target. */
export interface IdleMemoryResult {
  connections: number
  /** Connections the server counted once every client was connected and subscribed. */
  serverConnections: number
  /** RSS growth per connection (bytes), from before the first connection. */
  rssPerConnection: number
  /** Heap growth per connection after a full GC (bytes). */
  heapPerConnection: number
  /** Growth of `external` (Buffers and the like) per connection (bytes). */
  externalPerConnection: number
  /** RSS with every connection open (bytes). */
  rssTotal: number
  /** Kernel TCP buffer memory per connection, both loopback ends together (`/proc/net/sockstat`, bytes). */
  kernelTcpPerConnection: number
  connectMs: number
}

/** Options of {@link runIdleMemory}. */
export interface IdleMemoryRun {
  target: TargetName
  connections: number
  /** Rooms every connection's first channel is spread over (its second is its own). Default 100. */
  sharedRooms?: number
}

/**
 * Scenario 3: `connections` authenticated connections (Switchboard `connect` with a JWT,
 * Socket.IO auth middleware; the bare server has none), each subscribed to two channels (a
 * shared room and one of its own), idle. Memory per connection is the growth of the server's
 * RSS and of its heap after a full GC, divided by the connections.
 */
export async function runIdleMemory(run: IdleMemoryRun): Promise<IdleMemoryResult> {
  const target = await startTarget(run.target)
  const workers = Math.max(1, Math.ceil(run.connections / MAX_CONNECTIONS_PER_WORKER))
  const group = await LoadGroup.start(workers, `memory-${run.target}`)
  try {
    await sleep(300)
    const before = await target.child.request<MemorySample>('mem')
    const rss0 = await settledRss(target.pid)
    const tcp0 = tcpSockstat()
    const opened = await group.open({ target: run.target, urls: [target.url], total: run.connections, layout: { kind: 'idle', shared: run.sharedRooms ?? 100 } })
    if (opened.failed > 0) throw new Error(`idle memory (${run.target}): ${opened.failed} connections failed: ${opened.firstError}`)
    await sleep(1_000)
    const after = await target.child.request<MemorySample>('mem')
    const rss1 = await settledRss(target.pid)
    const tcp1 = tcpSockstat()
    const serverConnections = await target.child.request<number>('connections')
    // BENCH_HEAP_SNAPSHOT=<dir>: a heap snapshot of each server with every connection open, to see what a connection holds.
    const snapshotDir = process.env['BENCH_HEAP_SNAPSHOT']
    if (snapshotDir) await target.child.request('heapSnapshot', { path: `${snapshotDir}/${run.target}-${run.connections}.heapsnapshot` })
    const n = run.connections
    return {
      connections: n,
      serverConnections,
      rssPerConnection: Math.round((rss1 - rss0) / n),
      heapPerConnection: Math.round((after.heapUsedBytes - before.heapUsedBytes) / n),
      externalPerConnection: Math.round((after.externalBytes - before.externalBytes) / n),
      rssTotal: rss1,
      kernelTcpPerConnection: Math.max(0, Math.round((tcp1.memBytes - tcp0.memBytes) / n)),
      connectMs: opened.ms,
    }
  } finally {
    await group.closeAll()
    await group.stop()
    await target.child.stop()
  }
}

/** What the max-connections scenario measured (Switchboard). */
export interface MaxConnectionsResult {
  attempted: number
  /** Connections not attempted because the connect budget ran out (quick runs): `held` is then a lower bound. */
  skipped: number
  /** What ended the ramp: the server stopped accepting (`open files`), or the connect budget (`time budget`). */
  stoppedBy: 'open files' | 'time budget' | 'all connected'
  /** Connections open, authenticated and subscribed, as the server counts them. */
  held: number
  failed: number
  firstError?: string
  /** Accept errors the server's HTTP server reported (EMFILE at the file limit). */
  acceptErrors: number
  /** The per-process open-files limit (`ulimit -n`) of the server. */
  fileLimit: number
  rssBytes: number
  heapUsedBytes: number
  rssPerConnection: number
  heapPerConnection: number
  /** Heartbeat interval used while measuring idle CPU (ms). */
  heartbeatMs: number
  /** Server CPU per connection per heartbeat interval (server ping + pong, client `ping` + `pong`), µs. */
  cpuPerConnectionHeartbeatUs: number
  connectMs: number
}

/**
 * Scenario 5: connects `attempts` authenticated connections (two channels each) to one
 * Switchboard node until it can take no more — here the limit is the 20,000 open files per
 * process — then reads its memory, and its idle CPU per connection with heartbeats every
 * `heartbeatMs` (server pings, client `ping` frames), to project to larger nodes. With
 * `connectBudgetMs` (quick runs), no connection starts after that long, and the count held is
 * a lower bound.
 */
export async function runMaxConnections(
  attempts: number,
  heartbeatMs: number,
  windowMs: number,
  fileLimit: number,
  connectBudgetMs?: number,
): Promise<MaxConnectionsResult> {
  const target = await startTarget('switchboard', { switchboard: { engines: 'memory', heartbeatMs }, label: 'switchboard-max' })
  const workers = Math.max(1, Math.ceil(attempts / 7_000))
  const group = await LoadGroup.start(workers, 'maxconn')
  try {
    await sleep(300)
    const before = await target.child.request<MemorySample>('mem')
    const rss0 = rssBytes(target.pid)
    const opened = await group.open({
      target: 'switchboard',
      urls: [target.url],
      total: attempts,
      layout: { kind: 'idle', shared: 100 },
      ...(connectBudgetMs === undefined ? {} : { deadlineMs: connectBudgetMs }),
    })
    await sleep(1_000)
    const held = await target.child.request<number>('connections')
    const after = await target.child.request<MemorySample>('mem')
    const rss1 = rssBytes(target.pid)
    await group.each('ping', { intervalMs: heartbeatMs })
    await sleep(heartbeatMs)
    const window = await measureWindow([target.pid], [group], windowMs)
    const beats = held * (window.ms / heartbeatMs)
    const acceptErrors = await target.child.request<number>('acceptErrors')
    return {
      attempted: attempts - opened.skipped,
      skipped: opened.skipped,
      stoppedBy: held >= fileLimit - 100 || (opened.failed > 0 && opened.skipped === 0) ? 'open files' : opened.skipped > 0 ? 'time budget' : 'all connected',
      held,
      failed: opened.failed,
      ...(opened.firstError === undefined ? {} : { firstError: opened.firstError }),
      acceptErrors,
      fileLimit,
      rssBytes: rss1,
      heapUsedBytes: after.heapUsedBytes,
      rssPerConnection: Math.round((rss1 - rss0) / held),
      heapPerConnection: Math.round((after.heapUsedBytes - before.heapUsedBytes) / held),
      heartbeatMs,
      cpuPerConnectionHeartbeatUs: round(window.serverCpuMicros / beats, 3),
      connectMs: opened.ms,
    }
  } finally {
    await group.closeAll()
    await group.stop()
    await target.child.stop()
  }
}
