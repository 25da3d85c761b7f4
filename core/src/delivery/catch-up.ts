import type { MessageStore, StoredMessage } from '../engines/store.js'

/** Messages read from the store per query while replaying. */
export const REPLAY_PAGE_SIZE = 2_000

/**
 * Replays `channel` from the store: every message with `afterSeq < seq <= untilSeq`, in seq
 * order, page by page so memory stays bounded however far behind the client is. Stops early
 * when `send` returns false (the connection closed or became a slow consumer).
 */
export async function replay(
  store: MessageStore,
  channel: string,
  afterSeq: number,
  untilSeq: number,
  send: (message: StoredMessage) => boolean,
  batch: (sendPage: () => void) => void = sendPage => sendPage(),
  writable: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const read = (after: number): Promise<StoredMessage[]> =>
    after < untilSeq ? store.range(channel, after, Math.min(REPLAY_PAGE_SIZE, untilSeq - after)) : Promise.resolve([])
  let next = read(afterSeq)
  for (;;) {
    const page = await next
    if (page.length === 0) return
    // Backpressure: let the client read what is buffered before writing the next page.
    await writable()
    // Read the next page while this one is written out.
    next = read(page[page.length - 1]!.seq)
    let stopped = false
    batch(() => {
      for (const message of page) {
        if (message.seq > untilSeq || !send(message)) {
          stopped = true
          return
        }
      }
    })
    if (stopped) {
      next.catch(() => {})
      return
    }
  }
}
