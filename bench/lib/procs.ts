import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The bench/ folder, absolute. */
export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))

/** A child process of the benchmark (a server under test or a load worker), driven over IPC. */
export interface BenchChild {
  readonly name: string
  readonly pid: number
  /** What the child sent with its `ready` message (e.g. the port it listens on). */
  readonly info: Record<string, unknown>
  /** Sends `cmd` and resolves with the child's answer; rejects on its error, its exit or `timeoutMs`. */
  request<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>
  /** Asks the child to shut down, then kills its process group after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>
}

/** Options of {@link spawnChild}. */
export interface SpawnOptions {
  /** Arguments after the entry file. */
  args?: string[]
  /** Extra Node flags (e.g. `--expose-gc`, `--cpu-prof`). */
  nodeFlags?: string[]
  /** Extra environment variables. */
  env?: Record<string, string>
  /** Longest wait for the child's `ready` message (ms). Default 30000. */
  readyTimeoutMs?: number
  /** Working directory (where `--cpu-prof` writes). Default the current one. */
  cwd?: string
}

const live = new Set<ChildProcess>()

/**
 * Starts `entry` (a TypeScript file under bench/, run through tsx) as a child process in its
 * own process group, with an IPC channel, and resolves once it sends `{ type: 'ready' }`.
 * Every child is killed (its whole group) when this process exits, however it exits.
 */
export async function spawnChild(name: string, entry: string, options: SpawnOptions = {}): Promise<BenchChild> {
  const file = entry.startsWith('/') ? entry : `${BENCH_DIR}${entry}`
  const proc = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', file, ...(options.args ?? [])], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env, BENCH_CHILD_NAME: name },
  })
  live.add(proc)
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  let nextId = 1
  let exited = false
  const failAll = (error: Error): void => {
    for (const [, p] of pending) {
      clearTimeout(p.timer)
      p.reject(error)
    }
    pending.clear()
  }
  proc.on('exit', (code, signal) => {
    exited = true
    live.delete(proc)
    failAll(new Error(`${name} exited (code ${code}, signal ${signal})`))
  })
  proc.on('message', (raw: unknown) => {
    const msg = raw as { id?: number; ok?: boolean; result?: unknown; error?: string }
    if (msg.id === undefined) return
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok) p.resolve(msg.result)
    else p.reject(new Error(`${name}: ${msg.error}`))
  })
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within ${options.readyTimeoutMs ?? 30_000} ms`)), options.readyTimeoutMs ?? 30_000)
    const onMessage = (raw: unknown): void => {
      const msg = raw as { type?: string; info?: Record<string, unknown> }
      if (msg.type !== 'ready') return
      clearTimeout(timer)
      proc.off('message', onMessage)
      proc.off('exit', onExit)
      resolve(msg.info ?? {})
    }
    const onExit = (code: number | null): void => {
      clearTimeout(timer)
      reject(new Error(`${name} exited before it was ready (code ${code})`))
    }
    proc.on('message', onMessage)
    proc.once('exit', onExit)
  }).catch(err => {
    killGroup(proc)
    throw err
  })
  let stopping: Promise<void> | undefined
  return {
    name,
    pid: proc.pid!,
    info,
    request<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
      if (exited) return Promise.reject(new Error(`${name} has exited`))
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`${name}: ${cmd} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
        proc.send({ id, cmd, args })
      })
    },
    stop(graceMs = process.env['BENCH_CPU_PROF'] ? 20_000 : 3_000): Promise<void> {
      stopping ??= (async () => {
        if (exited) return killGroup(proc)
        const gone = new Promise<void>(resolve => proc.once('exit', () => resolve()))
        try {
          proc.send({ id: 0, cmd: 'shutdown' })
        } catch {
          // The IPC channel is already closed: the kill below still ends the group.
        }
        await Promise.race([gone, new Promise(resolve => setTimeout(resolve, graceMs))])
        killGroup(proc)
        await Promise.race([gone, new Promise(resolve => setTimeout(resolve, 1_000))])
      })()
      return stopping
    },
  }
}

/** SIGKILLs a child's whole process group (it was spawned detached, as the group leader). */
function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined) return
  try {
    process.kill(-proc.pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
  live.delete(proc)
}

/** Kills every child still running (their whole groups). Safe to call from an `exit` handler. */
export function killAllChildren(): void {
  for (const proc of [...live]) killGroup(proc)
}

/** Stops several children at once, ignoring failures. */
export async function stopAll(children: readonly (BenchChild | undefined)[]): Promise<void> {
  await Promise.all(children.map(child => child?.stop().catch(() => {})))
}

process.once('exit', killAllChildren)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllChildren()
    process.exit(130)
  })
}
