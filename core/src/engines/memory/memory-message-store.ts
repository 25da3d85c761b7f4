import { randomUUID } from 'node:crypto'
import { newMessageId } from '../../delivery/message-id.js'
import { SwitchboardError } from '../../errors.js'
import type {
  AppendInput,
  AppendResult,
  DeadLetter,
  MessageStore,
  RetentionPolicy,
  StoredMessage,
  StreamPosition,
} from '../store.js'

/** Options of {@link MemoryMessageStore}. */
export interface MemoryMessageStoreOptions {
  /** The clock that stamps `ts` and judges age in `trim`, ms since the Unix epoch. Default: `Date.now`. */
  now?: () => number
  /**
   * Retention applied without being asked. `maxMessages` is enforced on every append, right
   * away; `maxAgeMs` only when `trim` runs, as the fallback of a policy that leaves it out (as
   * is `maxMessages`): `trim(channel, {})` applies this default. Default: keep everything.
   * Invalid values throw `CONFIG_INVALID` from the constructor.
   */
  defaultRetention?: RetentionPolicy
}

/** One stored message and the idempotency key it was appended with. */
interface Entry {
  readonly message: StoredMessage
  readonly key: string | undefined
}

/** One channel's stream. */
interface Stream {
  readonly epoch: string
  /** Stored entries in seq order; those before `head` are trimmed and wait for compaction. */
  entries: Entry[]
  head: number
  /** Latest seq (0 when nothing was ever appended). */
  seq: number
  /** Idempotency key → first message, for stored messages only. */
  readonly keys: Map<string, StoredMessage>
  /** User → acked seq (absent means 0). */
  readonly cursors: Map<string, number>
}

/** Trimmed entries are dropped from the array once there are this many and they are half of it. */
const COMPACT_AFTER = 1024

/**
 * A {@link MessageStore} for single-process use and tests: every channel's stream, keys,
 * cursors and dead letters live in this process's memory, so they are lost on exit; a real implementation,
 * never a mock. Several nodes of one process share a store by sharing the instance.
 *
 * - A channel gets a random epoch (a UUID) the first time it is appended to or its `position`
 *   is read; it keeps it until `close()`. Reads of other channels create nothing.
 * - `append` deep-copies `data` with `structuredClone`, and every read returns fresh copies, so
 *   no caller can change what is stored. Data that cannot be cloned (functions, symbols) is
 *   rejected with `INTERNAL` (the clone error as `cause`) and nothing is appended.
 * - Idempotency keys are remembered as long as their message is stored: once a message is
 *   trimmed, a repeat of its key appends a new message. This bounds memory by retention.
 * - Seqs map to array positions by arithmetic, so `range` and `history` cost O(limit) however
 *   long the stream is; trimming is amortised O(1) per message.
 */
export class MemoryMessageStore implements MessageStore {
  readonly #streams = new Map<string, Stream>()
  /** Dead letters in the order they were recorded, and the (channel, seq, user) keys among them. */
  #deadLetters: DeadLetter[] = []
  readonly #deadLetterKeys = new Set<string>()
  readonly #now: () => number
  readonly #defaultRetention: RetentionPolicy
  #closed = false

  /** Throws `CONFIG_INVALID` when `options.defaultRetention` holds a negative or non-integer limit. */
  constructor(options: MemoryMessageStoreOptions = {}) {
    this.#now = options.now ?? Date.now
    this.#defaultRetention = checkRetention(options.defaultRetention ?? {}, 'defaultRetention')
  }

  /**
   * Appends one message with the next seq of its channel, or returns the first message of a
   * repeated `key` with `duplicate: true`. Trims past `defaultRetention.maxMessages` at once.
   * Rejects with `INTERNAL` when `data` cannot be cloned, `CLOSED` after `close()`.
   */
  async append(input: AppendInput): Promise<AppendResult> {
    this.#assertOpen()
    const stream = this.#stream(input.channel)
    const first = input.key === undefined ? undefined : stream.keys.get(input.key)
    if (first !== undefined) return { message: copy(first), duplicate: true }
    const ts = this.#now()
    const message: StoredMessage = {
      channel: input.channel,
      seq: stream.seq + 1,
      epoch: stream.epoch,
      mid: newMessageId(ts),
      from: input.from,
      data: cloneData(input.data),
      ts,
    }
    stream.seq = message.seq
    stream.entries.push({ message, key: input.key })
    if (input.key !== undefined) stream.keys.set(input.key, message)
    const { maxMessages } = this.#defaultRetention
    if (maxMessages !== undefined) drop(stream, stored(stream) - maxMessages)
    return { message: copy(message), duplicate: false }
  }

  /**
   * The channel's epoch (chosen now when the channel is new), latest seq and oldest stored seq.
   * Rejects with `CLOSED` after `close()`.
   */
  async position(channel: string): Promise<StreamPosition> {
    this.#assertOpen()
    const stream = this.#stream(channel)
    return { epoch: stream.epoch, seq: stream.seq, oldestSeq: oldest(stream) }
  }

  /**
   * Copies of the stored messages with `seq > afterSeq`, ascending, at most `limit`. Rejects
   * with `CLOSED` after `close()`.
   */
  async range(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    this.#assertOpen()
    const stream = this.#streams.get(channel)
    if (stream === undefined || Number.isNaN(afterSeq)) return []
    const from = Math.max(Math.floor(afterSeq) + 1, oldest(stream))
    return slice(stream, from, Math.min(from + Math.floor(limit), stream.seq + 1))
  }

  /**
   * Copies of the `limit` stored messages just before seq `before` (exclusive; default: the
   * latest ones), oldest first; `[]` when `before` ≤ 1. Rejects with `CLOSED` after `close()`.
   */
  async history(channel: string, options: { before?: number; limit: number }): Promise<StoredMessage[]> {
    this.#assertOpen()
    const stream = this.#streams.get(channel)
    if (stream === undefined || Number.isNaN(options.before)) return []
    const end = Math.min(Math.ceil(options.before ?? Infinity), stream.seq + 1)
    return slice(stream, Math.max(end - Math.floor(options.limit), oldest(stream)), end)
  }

  /** The user's acked seq on `channel`, 0 when it never acked. Rejects with `CLOSED` after `close()`. */
  async cursor(channel: string, user: string): Promise<number> {
    this.#assertOpen()
    return this.#streams.get(channel)?.cursors.get(user) ?? 0
  }

  /**
   * Moves the user's cursor to `seq`, clamped to the channel's latest seq; a lower seq changes
   * nothing, so on a channel never appended to the cursor stays 0. Rejects with `CLOSED` after `close()`.
   */
  async ack(channel: string, user: string, seq: number): Promise<void> {
    this.#assertOpen()
    const stream = this.#streams.get(channel)
    if (stream === undefined) return
    const target = Math.min(Math.floor(seq), stream.seq)
    if (target > (stream.cursors.get(user) ?? 0)) stream.cursors.set(user, target)
  }

  /**
   * Records a dead letter stamped `now()`; resolves `false` and changes nothing when one with
   * the same (channel, seq, user) was recorded before. Rejects with `CLOSED` after `close()`.
   */
  async deadLetter(letter: Omit<DeadLetter, 'ts'>): Promise<boolean> {
    this.#assertOpen()
    const key = JSON.stringify([letter.channel, letter.seq, letter.user])
    if (this.#deadLetterKeys.has(key)) return false
    this.#deadLetterKeys.add(key)
    const { channel, seq, user, mid, reason, attempts } = letter
    this.#deadLetters.push({ channel, seq, user, mid, reason, attempts, ts: this.#now() })
    return true
  }

  /**
   * Copies of the dead letters in the order they were recorded (oldest first), of `channel`
   * and/or `user` when given, at most `limit` (default 100). Rejects with `CLOSED` after `close()`.
   */
  async deadLetters(filter: { channel?: string; user?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    this.#assertOpen()
    const limit = Math.max(Math.floor(filter.limit ?? 100), 0)
    const found: DeadLetter[] = []
    for (const letter of this.#deadLetters) {
      if (!(found.length < limit)) break
      if (filter.channel !== undefined && letter.channel !== filter.channel) continue
      if (filter.user !== undefined && letter.user !== filter.user) continue
      found.push({ ...letter })
    }
    return found
  }

  /**
   * Trims the channel's oldest messages: past `maxMessages`, and those older than `maxAgeMs`
   * (`now() - ts > maxAgeMs`, scanning from the oldest and stopping at the first younger one).
   * A limit missing from `policy` falls back to `defaultRetention`'s. Resolves with how many
   * messages were trimmed. Rejects with `CONFIG_INVALID` for a negative or non-integer limit,
   * `CLOSED` after `close()`.
   */
  async trim(channel: string, policy: RetentionPolicy): Promise<number> {
    this.#assertOpen()
    const limits = checkRetention({ ...this.#defaultRetention, ...defined(policy) }, 'policy')
    const stream = this.#streams.get(channel)
    return stream === undefined ? 0 : this.#trimStream(stream, limits)
  }

  /**
   * Applies `policy` (with `defaultRetention`'s fallbacks, as in `trim`) to every channel whose
   * name starts with `${namespace}:`; resolves with how many messages were trimmed in all.
   * Rejects with `CONFIG_INVALID` for a negative or non-integer limit, `CLOSED` after `close()`.
   */
  async trimNamespace(namespace: string, policy: RetentionPolicy): Promise<number> {
    this.#assertOpen()
    const limits = checkRetention({ ...this.#defaultRetention, ...defined(policy) }, 'policy')
    if (limits.maxMessages === undefined && limits.maxAgeMs === undefined) return 0
    const prefix = `${namespace}:`
    let trimmed = 0
    for (const [channel, stream] of this.#streams) {
      if (channel.startsWith(prefix)) trimmed += this.#trimStream(stream, limits)
    }
    return trimmed
  }

  /** Forgets every stream and dead letter; later calls reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    this.#streams.clear()
    this.#deadLetters = []
    this.#deadLetterKeys.clear()
  }

  /** Trims past `maxMessages`, then the prefix older than `maxAgeMs`; returns how many went. */
  #trimStream(stream: Stream, { maxMessages, maxAgeMs }: RetentionPolicy): number {
    let trimmed = maxMessages === undefined ? 0 : drop(stream, stored(stream) - maxMessages)
    if (maxAgeMs !== undefined) {
      const cutoff = this.#now() - maxAgeMs
      let old = 0
      while (old < stored(stream) && (stream.entries[stream.head + old]?.message.ts ?? Infinity) < cutoff) old++
      trimmed += drop(stream, old)
    }
    return trimmed
  }

  #stream(channel: string): Stream {
    let stream = this.#streams.get(channel)
    if (stream === undefined) {
      stream = { epoch: randomUUID(), entries: [], head: 0, seq: 0, keys: new Map(), cursors: new Map() }
      this.#streams.set(channel, stream)
    }
    return stream
  }

  #assertOpen(): void {
    if (this.#closed) throw new SwitchboardError('CLOSED', 'The message store is closed.')
  }
}

/** How many messages the stream still stores. */
function stored(stream: Stream): number {
  return stream.entries.length - stream.head
}

/** The lowest stored seq (`seq + 1` when nothing is stored). */
function oldest(stream: Stream): number {
  return stream.seq - stored(stream) + 1
}

/** Copies of the stored messages with `from ≤ seq < to` (both already within the stored range or empty). */
function slice(stream: Stream, from: number, to: number): StoredMessage[] {
  if (!(to > from)) return []
  const start = stream.head + (from - oldest(stream))
  return stream.entries.slice(start, start + (to - from)).map((entry) => copy(entry.message))
}

/** Trims the `count` oldest stored messages (none when `count` ≤ 0) and forgets their keys; returns how many. */
function drop(stream: Stream, count: number): number {
  const n = Math.min(Math.max(count, 0), stored(stream))
  for (let i = stream.head; i < stream.head + n; i++) {
    const key = stream.entries[i]?.key
    if (key !== undefined) stream.keys.delete(key)
  }
  stream.head += n
  // Compact only once the trimmed prefix is large and at least half the array, so each entry is moved O(1) times.
  if (stream.head === stream.entries.length) {
    stream.entries = []
    stream.head = 0
  } else if (stream.head >= COMPACT_AFTER && stream.head * 2 >= stream.entries.length) {
    stream.entries = stream.entries.slice(stream.head)
    stream.head = 0
  }
  return n
}

/** A fresh copy of `message`, so callers cannot reach the stored one. */
function copy(message: StoredMessage): StoredMessage {
  return { ...message, data: structuredClone(message.data) }
}

function cloneData(data: unknown): unknown {
  try {
    return structuredClone(data)
  } catch (error) {
    throw new SwitchboardError('INTERNAL', 'The message data cannot be stored: it is not cloneable.', { cause: error })
  }
}

/** `policy` without its `undefined` fields, so they do not hide the defaults when spread. */
function defined(policy: RetentionPolicy): RetentionPolicy {
  return {
    ...(policy.maxMessages === undefined ? {} : { maxMessages: policy.maxMessages }),
    ...(policy.maxAgeMs === undefined ? {} : { maxAgeMs: policy.maxAgeMs }),
  }
}

/** Returns `policy` when its limits are non-negative integers; throws `CONFIG_INVALID` naming the field otherwise. */
function checkRetention(policy: RetentionPolicy, name: string): RetentionPolicy {
  for (const field of ['maxMessages', 'maxAgeMs'] as const) {
    const value = policy[field]
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new SwitchboardError('CONFIG_INVALID', `${name}.${field} must be a non-negative integer, got ${String(value)}.`)
    }
  }
  return policy
}
