import type { ChannelMessage } from '@switchboard/client'

/** A stored message as the page shows it. */
export interface Shown {
  readonly seq: number
  readonly mid: string
  readonly from: string
  readonly text: string
  /** Publish time (ms since the epoch). */
  readonly ts: number
}

/** A message sent from this page and not answered yet (or refused). */
export interface Pending {
  readonly id: number
  readonly text: string
  /** Why the server refused it; unset while it waits (queued while offline, or in flight). */
  error?: string
}

/** What {@link Conversation.add} did with a message. */
export type Added = 'new' | 'known' | 'reset'

/**
 * One conversation (a room or a DM) of the page: its messages by `seq`, so that history pages,
 * live messages, resumes after reconnects and this page's own publishes merge into one list
 * where each message appears once, in order.
 */
export class Conversation {
  /** Messages by seq. */
  readonly messages = new Map<number, Shown>()
  /** This page's messages not stored yet, in send order. */
  readonly pending = new Map<number, Pending>()
  /** The stream's epoch (a new one means the stream was reset: its seqs start again). */
  epoch: string | undefined
  /** Messages from others that arrived while the conversation was not open. */
  unread = 0
  /** A mention of the user arrived and the conversation was not opened since. */
  mentioned = false
  /** Shown in the sidebar (rooms always; DMs once they have messages or were opened). */
  listed: boolean
  /** Whether the latest page of history was loaded (after a reset, it is loaded again). */
  historyLoaded = false
  /** Whether history reached the conversation's first message. */
  reachedStart = false
  /** A history request is in flight. */
  loading = false

  constructor(
    /** `room:{id}` or `dm:{a}:{b}`. */
    readonly channel: string,
    readonly kind: 'room' | 'dm',
    /** The room's name, or the other user's name. */
    public title: string,
    /** The room id, or the other user's name. */
    readonly target: string,
  ) {
    this.listed = kind === 'room'
  }

  /**
   * Adds a stored message: `new`, `known` (that seq is here already: nothing changes), or `reset`
   * (its epoch is not the conversation's: the stream started again, everything before is dropped
   * and the message is the only one kept).
   */
  add(message: ChannelMessage): Added {
    let outcome: Added = 'new'
    if (message.epoch !== undefined && message.epoch !== '') {
      if (this.epoch !== undefined && this.epoch !== message.epoch) {
        this.resetHistory()
        outcome = 'reset'
      }
      this.epoch = message.epoch
    }
    if (this.messages.has(message.seq)) return 'known'
    this.messages.set(message.seq, { seq: message.seq, mid: message.mid, from: message.from, text: textOf(message.data), ts: message.ts })
    return outcome
  }

  /** Forgets the messages (a lossy resume or a new epoch): history is loaded again. */
  resetHistory(): void {
    this.messages.clear()
    this.historyLoaded = false
    this.reachedStart = false
  }

  /** The smallest seq shown, for the next history page. */
  get oldestSeq(): number | undefined {
    let oldest: number | undefined
    for (const seq of this.messages.keys()) if (oldest === undefined || seq < oldest) oldest = seq
    return oldest
  }

  /** The messages in seq order. */
  sorted(): Shown[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq)
  }
}

/** A message's text (`data.text`); other payloads as JSON, so nothing is silently hidden. */
export function textOf(data: unknown): string {
  if (typeof data === 'object' && data !== null && typeof (data as { text?: unknown }).text === 'string') return (data as { text: string }).text
  return JSON.stringify(data)
}
