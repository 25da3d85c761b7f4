/**
 * A load-generator process (child of the bench runner): holds up to ~9,900 connections (the
 * 20,000 open files per process are shared with the server on loopback only by port, but each
 * process has its own limit), publishes at a paced rate, and measures what it receives:
 * deliveries, publish acknowledgements, their latency histograms and its own CPU time.
 * Commands are documented on `handlers` below.
 */
import { serveCommands } from '../lib/child.js'
import { nowMs } from '../lib/clock.js'
import { Histogram } from '../lib/histogram.js'
import { extractSentAt, makePayload } from '../lib/payload.js'
import { BENCH_JWT_SECRET, type TargetName } from '../targets/target-config.js'
import { BenchClient, type ClientSink } from './bench-client.js'
import { protocolFor, type WireProtocol } from './protocols.js'
import { prepareCatchup, type CatchupArgs, type PreparedCatchup } from './catchup-client.js'

/** Which rooms each connection joins. `idle`: room `s<i % shared>` and its own room `u<i>`. */
export type Layout = { kind: 'none' } | { kind: 'room'; room: string } | { kind: 'idle'; shared: number }

/** Arguments of the `open` command. */
export interface OpenArgs {
  target: TargetName
  url: string
  /** Switchboard: use the persisted `stored:` channels instead of `room:`. */
  persisted?: boolean
  count: number
  /** Global index of this worker's first connection (users are `u<index>`). */
  firstIndex: number
  layout: Layout
  /** Handshakes in flight at once. Default 200. */
  concurrency?: number
  /** Starts no new connection after this long (ms); the rest count as `skipped`. Default none. */
  deadlineMs?: number
}

/** Arguments of the `publish` command. */
export interface PublishArgs {
  /** Publishes per second, spread over this worker's connections. */
  rate: number
  rooms: string[]
  /** Ask for acknowledgements and measure the round trip. */
  ack: boolean
}

/** What `collect` returns: everything measured since the last `mark`. */
export interface WindowReport {
  elapsedMs: number
  cpuMicros: number
  deliveries: number
  sent: number
  acks: number
  refused: number
  closed: Record<number, number>
  delivery: ReturnType<Histogram['serialize']>
  ack: ReturnType<Histogram['serialize']>
}

const SEND_SLOTS = 1 << 20
const sendTimes = new Float64Array(SEND_SLOTS)
const deliveryHist = new Histogram()
const ackHist = new Histogram()
let deliveries = 0
let acks = 0
let refused = 0
let sent = 0
let closed: Record<number, number> = {}
let measureLatency = true
let windowStart = nowMs()
let cpuStart = process.cpuUsage()
let nextId = 10
const clients: BenchClient[] = []
let protocol: WireProtocol | undefined
let firstIndex = 0
let publishTimer: NodeJS.Timeout | undefined
let pingTimer: NodeJS.Timeout | undefined
let catchup: PreparedCatchup | undefined

const sink: ClientSink = {
  delivery(frame) {
    deliveries += 1
    if (measureLatency) deliveryHist.record(nowMs() - extractSentAt(frame))
  },
  ack(id) {
    acks += 1
    ackHist.record(nowMs() - sendTimes[id & (SEND_SLOTS - 1)]!)
  },
  refused() {
    refused += 1
  },
  closed(code) {
    closed[code] = (closed[code] ?? 0) + 1
  },
}

/** Signs a token with core's `signDevToken`, loading core on first use only (the bare ws target needs none). */
async function sign(user: string): Promise<string> {
  const { signDevToken } = await import('@switchboard/core')
  return signDevToken(BENCH_JWT_SECRET, user, { expiresInSec: 86_400 })
}

function roomsOf(layout: Layout, index: number): string[] {
  if (layout.kind === 'room') return [layout.room]
  if (layout.kind === 'idle') return [`s${index % layout.shared}`, `u${index}`]
  return []
}

async function open(args: OpenArgs): Promise<{ opened: number; failed: number; skipped: number; firstError?: string; ms: number }> {
  const started = Date.now()
  const stopAt = args.deadlineMs === undefined ? Infinity : started + args.deadlineMs
  protocol = protocolFor(args.target, args.persisted)
  firstIndex = args.firstIndex
  const needsToken = args.target !== 'ws'
  let failed = 0
  let firstError: string | undefined
  let next = 0
  const one = async (): Promise<void> => {
    while (next < args.count && Date.now() < stopAt) {
      const i = next++
      const index = args.firstIndex + i
      try {
        const token = needsToken ? await sign(`u${index}`) : ''
        const client = await BenchClient.open(args.url, protocol!, sink, token)
        await client.join(roomsOf(args.layout, index), 2)
        clients.push(client)
      } catch (err) {
        failed += 1
        firstError ??= err instanceof Error ? err.message : String(err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(args.concurrency ?? 200, args.count) }, one))
  const skipped = args.count - next
  return { opened: next - failed, failed, skipped, ...(firstError === undefined ? {} : { firstError }), ms: Date.now() - started }
}

function publish(args: PublishArgs): void {
  stopPublish()
  const p = protocol!
  const start = nowMs()
  let count = 0
  const tick = (): void => {
    const due = Math.floor(((nowMs() - start) * args.rate) / 1000)
    // After a stall, do not fire a huge burst: offered load stays paced.
    if (due - count > args.rate) count = due - Math.ceil(args.rate / 10)
    while (count < due) {
      const c = count % clients.length
      const client = clients[c]!
      const room = args.rooms[(firstIndex + c) % args.rooms.length]!
      const id = nextId++
      const t = nowMs()
      sendTimes[id & (SEND_SLOTS - 1)] = t
      client.send(p.publish(room, makePayload(t), id, args.ack))
      count += 1
      sent += 1
    }
    publishTimer = setTimeout(tick, 1)
  }
  tick()
}

function stopPublish(): void {
  if (publishTimer) clearTimeout(publishTimer)
  publishTimer = undefined
}

/** Sends the protocol's own keep-alive (Switchboard `ping`) from every connection once per `intervalMs`, spread evenly. */
function pingLoop(intervalMs: number): void {
  if (pingTimer) clearInterval(pingTimer)
  const p = protocol!
  if (p.ping(1) === undefined) return
  const slices = Math.max(1, Math.floor(intervalMs / 50))
  let slice = 0
  pingTimer = setInterval(() => {
    const from = Math.floor((slice * clients.length) / slices)
    const to = Math.floor(((slice + 1) * clients.length) / slices)
    for (let i = from; i < to; i++) clients[i]!.send(p.ping(nextId++)!)
    slice = (slice + 1) % slices
  }, intervalMs / slices)
}

function mark(): void {
  deliveryHist.reset()
  ackHist.reset()
  deliveries = acks = refused = sent = 0
  closed = {}
  windowStart = nowMs()
  cpuStart = process.cpuUsage()
}

function collect(): WindowReport {
  const cpu = process.cpuUsage(cpuStart)
  return {
    elapsedMs: nowMs() - windowStart,
    cpuMicros: cpu.user + cpu.system,
    deliveries,
    sent,
    acks,
    refused,
    closed,
    delivery: deliveryHist.serialize(),
    ack: ackHist.serialize(),
  }
}

/** The command handlers: each takes the args object the runner sends. */
const handlers = {
  /** Opens `count` connections and joins their rooms; see {@link OpenArgs}. */
  open,
  /** Starts publishing at a paced rate; see {@link PublishArgs}. */
  publish,
  /** Stops publishing. */
  stopPublish,
  /** Starts the protocol keep-alive loop at `{ intervalMs }`. */
  ping: (args: { intervalMs: number }) => pingLoop(args.intervalMs),
  /** Starts a measurement window. */
  mark,
  /** Ends the measurement window: a {@link WindowReport}. */
  collect,
  /** Connections held. */
  count: () => clients.length,
  /** Turns latency measurement of deliveries on or off. */
  latency: (args: { on: boolean }) => {
    measureLatency = args.on
  },
  /** Prepares the catch-up client (catchup-client.ts): connected, epoch known. */
  prepareCatchup: async (args: CatchupArgs) => {
    catchup = await prepareCatchup(args)
  },
  /** Runs the prepared catch-up once (it may run again: the client leaves the channel after each run). */
  runCatchup: () => catchup!.run(),
  /** Closes the catch-up client. */
  closeCatchup: () => {
    catchup?.close()
    catchup = undefined
  },
  /** Terminates every connection. */
  closeAll: () => {
    stopPublish()
    if (pingTimer) clearInterval(pingTimer)
    for (const client of clients.splice(0)) client.terminate()
  },
}

serveCommands({ pid: process.pid }, handlers, () => handlers.closeAll())
