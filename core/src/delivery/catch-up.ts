/** Messages read from the store per query while replaying. */
export const REPLAY_PAGE_SIZE = 2_000

/**
 * Replays a channel from the store: every message with `afterSeq < seq <= untilSeq`, in seq
 * order, page by page (`read(after, limit)`: the store's `range` or `rangeJson`) so memory stays
 * bounded however far behind the client is. Stops early when `send` returns false (the
 * connection closed or became a slow consumer).
 */
export async function replay<M extends { readonly seq: number }>(
  read: (afterSeq: number, limit: number) => Promise<M[]>,
  afterSeq: number,
  untilSeq: number,
  send: (message: M) => boolean,
  batch: (sendPage: () => void) => void = sendPage => sendPage(),
  writable: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const readPage = (after: number): Promise<M[]> => (after < untilSeq ? read(after, Math.min(REPLAY_PAGE_SIZE, untilSeq - after)) : Promise.resolve([]))
  let next = readPage(afterSeq)
  for (;;) {
    const page = await next
    if (page.length === 0) return
    // Backpressure: let the client read what is buffered before writing the next page.
    await writable()
    // Read the next page while this one is written out.
    next = readPage(page[page.length - 1]!.seq)
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
