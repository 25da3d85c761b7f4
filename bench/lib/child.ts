import { getHeapStatistics } from 'node:v8'

/** A command handler of a child process: receives the command's args, returns (or resolves) its answer. */
export type CommandHandler = (args: any) => unknown

/**
 * The child side of {@link spawnChild}: answers `{ id, cmd, args }` messages from the parent
 * with `handlers[cmd]`, tells the parent it is ready (with `info`), and exits when the parent
 * goes away (its IPC channel closes) or sends `shutdown` (after `onShutdown`, at most 2 s).
 */
export function serveCommands(info: Record<string, unknown>, handlers: Record<string, CommandHandler>, onShutdown?: () => Promise<void> | void): void {
  if (!process.send) throw new Error('serveCommands needs an IPC channel (run through spawnChild)')
  const shutdown = async (): Promise<void> => {
    const deadline = setTimeout(() => process.exit(0), 2_000)
    try {
      await onShutdown?.()
    } finally {
      clearTimeout(deadline)
      process.exit(0)
    }
  }
  process.on('disconnect', () => process.exit(0))
  process.on('message', (raw: unknown) => {
    const { id, cmd, args } = raw as { id: number; cmd: string; args: unknown }
    if (cmd === 'shutdown') return void shutdown()
    const handler = handlers[cmd]
    const reply = (msg: object): void => {
      if (process.connected) process.send!({ id, ...msg })
    }
    if (!handler) return reply({ ok: false, error: `unknown command ${cmd}` })
    Promise.resolve()
      .then(() => handler(args))
      .then(
        result => reply({ ok: true, result }),
        (err: unknown) => reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      )
  })
  process.send({ type: 'ready', info })
}

/**
 * Heap and RSS of this process after a full GC (needs `--expose-gc`; without it, no GC runs).
 * At the open-files limit `process.memoryUsage()` fails (it opens /proc/self/statm): then the
 * heap comes from V8 alone and `rssBytes` is 0 (the runner reads RSS from /proc itself).
 */
export function memoryAfterGc(): { rssBytes: number; heapUsedBytes: number; externalBytes: number; arrayBuffersBytes: number } {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
  try {
    const m = process.memoryUsage()
    return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers }
  } catch {
    const heap = getHeapStatistics()
    return { rssBytes: 0, heapUsedBytes: heap.used_heap_size, externalBytes: heap.external_memory, arrayBuffersBytes: 0 }
  }
}
