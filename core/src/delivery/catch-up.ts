import type { MessageStore, StoredMessage } from '../engines/store.js'

/** Messages read from the store per query while replaying. */
export const REPLAY_PAGE_SIZE = 500

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
): Promise<void> {
  let cursor = afterSeq
  while (cursor < untilSeq) {
    const page = await store.range(channel, cursor, Math.min(REPLAY_PAGE_SIZE, untilSeq - cursor))
    if (page.length === 0) return
    for (const message of page) {
      if (message.seq > untilSeq) return
      if (!send(message)) return
      cursor = message.seq
    }
  }
}
