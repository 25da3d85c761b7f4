import { once } from 'node:events'
import type { Socket } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Worker } from 'bullmq'
import type { Redis } from 'ioredis'

/** Longest a close waits for a socket to finish closing once its client was told to (ms). */
const SOCKET_CLOSE_MS = 1000

/**
 * The client a BullMQ `Worker` should be given, and whether the caller created it. A worker
 * uses its `connection` client as it is for plain commands and duplicates it for its blocking
 * fetch; BullMQ refuses the duplicate unless the client was made with `maxRetriesPerRequest:
 * null`. So `template` is used as it is when it has that, else duplicated with it (owned: the
 * caller must close it with {@link quitClient}).
 */
export function workerClient(template: Redis): { client: Redis; owned: boolean } {
  if (template.options.maxRetriesPerRequest === null) return { client: template, owned: false }
  return { client: template.duplicate({ maxRetriesPerRequest: null, lazyConnect: false }), owned: true }
}

/**
 * Closes a client the caller owns: `QUIT` when connected, else a plain disconnect (which also
 * cancels a pending reconnect). Resolves once the socket is closed (at most after
 * `SOCKET_CLOSE_MS`); never rejects.
 */
export async function quitClient(client: Redis): Promise<void> {
  if (client.status === 'end') return
  // ioredis emits no `end` for a client that has no socket (lazy, or waiting to reconnect).
  if (client.status === 'wait' || client.status === 'reconnecting' || client.status === 'close') {
    client.disconnect()
    return
  }
  const ended = once(client, 'end').then(() => undefined, () => undefined)
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect())
  else client.disconnect()
  await Promise.race([ended, timeout(SOCKET_CLOSE_MS)])
}

/**
 * Resolves once the socket of a closed worker's blocking client (the duplicate BullMQ made and
 * closes itself) has closed, at most after `SOCKET_CLOSE_MS`: BullMQ's `close()` resolves when
 * `QUIT` is answered, a little before the socket is gone. A client whose connection never
 * became ready is not waited for.
 */
export async function blockingSocketClosed(worker: Worker): Promise<void> {
  const pending = worker.getBackend().blockingClient
  if (pending === undefined) return
  const client = await Promise.race([pending.catch(() => undefined), nextTurn().then(() => undefined)])
  const socket = (client as { stream?: Socket } | undefined)?.stream
  if (socket === undefined || socket.destroyed) return
  await Promise.race([once(socket, 'close'), timeout(SOCKET_CLOSE_MS)])
}

/** Resolves after `ms`, without keeping the process alive. */
function timeout(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
