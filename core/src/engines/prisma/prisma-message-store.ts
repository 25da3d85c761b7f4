import { SwitchboardError } from '../../errors.js'
import type { AppendInput, AppendResult, DeadLetter, MessageStore, RetentionPolicy, StoredMessage, StoredMessageJson, StreamPosition } from '../store.js'
import { prepareAppend, writeBatch, type PreparedAppend } from './append-batch.js'
import { BatchQueue } from './batch-queue.js'
import { disconnectPrismaClient, openPipelinedSql, rawSqlOf, type PipelinedSql } from './create-prisma-client.js'
import { insertDeadLetter, selectDeadLetters, type DeadLetterFilter } from './dead-letters.js'
import type { PrismaClient } from './generated/client.js'
import { checkRetention, definedLimits } from './retention.js'
import { MESSAGE_COLUMNS, MESSAGE_COLUMNS_DATA_JSON, seqParam, toMessage, toMessageJson, toSafeNumber, type MessageRow, type RawSql } from './sql-rows.js'

/** Options of {@link PrismaMessageStore}. */
export interface PrismaMessageStoreOptions {
  /** A client for Switchboard's schema, e.g. from `createPrismaClient()`; migrations already applied. */
  readonly client: PrismaClient
  /**
   * Retention applied without being asked: `maxMessages` on every append, inside the append's
   * transaction; both limits as the fallback of a `trim` policy that leaves them out. Default:
   * keep everything. Invalid values throw `CONFIG_INVALID` from the constructor.
   */
  readonly defaultRetention?: RetentionPolicy
  /** Most appends committed in one statement. Default 1000. */
  readonly batchMaxSize?: number
  /**
   * Most batches sent to PostgreSQL at once (1 to 16). Default 2 for a client from
   * `createPrismaClient`, whose appends then go down one pipelined connection of the store's
   * own: the next batch is sent while the previous one runs and PostgreSQL runs them in the
   * order sent, so seqs still follow append order. With any other client only 1 is allowed
   * (batches on different pooled connections could take seqs out of order).
   */
  readonly batchesInFlight?: number
  /**
   * How long an append waits for others to join its batch when no transaction is in flight
   * (ms). Default 0: a batch starts right after the current tick, and appends arriving while a
   * transaction is in flight join the next one anyway.
   */
  readonly batchMaxWaitMs?: number
  /**
   * Longest a batch's statement may take, waiting for a pooled connection included (ms).
   * Past it the batch's appends reject with `INTERNAL` and the next batch starts; the statement
   * itself may still commit, as with any reply lost on the way (a publish retried with its
   * idempotency key is then answered with the stored message). With pipelined batches the
   * store terminates that connection's server process (the statement rolls back unless it had
   * committed; the batches sent behind it reject too) and goes on with a new one. Default 10000.
   */
  readonly transactionTimeoutMs?: number
  /** The clock that stamps `ts` and judges age in `trim`, ms since the Unix epoch. Default `Date.now`. */
  readonly now?: () => number
  /** Whether `close()` disconnects `client`. Default true; false when the client is shared. */
  readonly disconnectOnClose?: boolean
}

/** Counters of a {@link PrismaMessageStore}, for metrics. All count since construction. */
export interface PrismaMessageStoreStats {
  /** Batch transactions committed. */
  readonly transactions: number
  /** Batch transactions that failed (every append in them rejected). */
  readonly failedTransactions: number
  /** Messages appended (committed), duplicates excluded. */
  readonly appended: number
  /** Appends answered with `duplicate: true`. */
  readonly duplicates: number
  /** Messages trimmed, by `trim` or by `defaultRetention.maxMessages`. */
  readonly trimmed: number
  /** Most appends one committed transaction carried. */
  readonly largestBatch: number
  /** Most batches that were in flight at once. */
  readonly mostBatchesInFlight: number
  /** Appends waiting for a transaction right now. */
  readonly queued: number
}

/**
 * A {@link MessageStore} on PostgreSQL through Prisma: the durable store of a cluster, shared
 * by every node (see docs/storage.md).
 *
 * - Group commit: appends queue while a batch is in flight and go, up to `batchMaxSize` at a
 *   time, into one atomic statement that creates or bumps each stream row once (locking it,
 *   so writers on every node serialize on it), raises its seq by the number of new messages
 *   and inserts them all. Up to `batchesInFlight` batches are in flight per store, sent in
 *   order down one pipelined connection (see `openPipelinedSql`). Each append resolves
 *   after the commit; when the statement fails, every append of the batch rejects with
 *   `INTERNAL` (the PostgreSQL error as `cause`) and nothing of the batch is stored. Seqs are
 *   dense: they are taken under the row lock and committed or rolled back with the messages.
 * - Idempotency keys: the messages already stored under a batch's keys are read first; those
 *   appends resolve as duplicates without using a seq. A key another node stores in between
 *   makes the statement hit `unique (channel, idem_key)` and change nothing, and the batch is
 *   tried again, so a key raced by two nodes is stored once and the loser gets the winner's
 *   message. A key is remembered as long as its message is stored (not trimmed).
 * - Statements go straight to the `pg` pool of a client made by `createPrismaClient` (the
 *   Prisma client's per-query work is most of an append's cost), append statements down the
 *   store's pipelined connection; other clients are used as given, one batch at a time.
 * - A channel's stream row (with its random epoch) is created by its first append or
 *   `position`; reads of other channels create nothing.
 * - Input PostgreSQL would refuse (a NUL character, a key over 128 characters) rejects that
 *   append alone with `VALIDATION` before it joins a batch.
 */
export class PrismaMessageStore implements MessageStore {
  readonly #client: PrismaClient
  /** Where statements go: the client's `pg` pool when it has one (see `rawSqlOf`), else the client. */
  readonly #sql: RawSql
  readonly #retention: RetentionPolicy
  readonly #transactionTimeoutMs: number
  readonly #now: () => number
  readonly #disconnectOnClose: boolean
  readonly #batches: BatchQueue<PreparedAppend, AppendResult>
  /** Where append statements go when batches are pipelined; else `#sql`. */
  readonly #pipeline: PipelinedSql | undefined
  /** Resolves once the previous batch's append statement has been sent: each batch waits for it, so statements leave in batch order. */
  #appendTurn: Promise<void> = Promise.resolve()
  readonly #reads = new Set<Promise<unknown>>()
  #closing: Promise<void> | undefined
  #stats = { transactions: 0, failedTransactions: 0, appended: 0, duplicates: 0, trimmed: 0, largestBatch: 0 }

  /** Throws `CONFIG_INVALID` for a negative or non-integer limit, size or duration in `options`. */
  constructor(options: PrismaMessageStoreOptions) {
    this.#client = options.client
    this.#sql = rawSqlOf(options.client)
    this.#retention = checkRetention(options.defaultRetention ?? {}, 'defaultRetention')
    // Only a client from createPrismaClient has a pool of ours to open a pipelined connection on.
    const pipelineable = this.#sql !== options.client
    const inFlight = checkInteger(options.batchesInFlight ?? (pipelineable ? 2 : 1), 'batchesInFlight', 1)
    if (inFlight > MAX_BATCHES_IN_FLIGHT || (inFlight > 1 && !pipelineable)) {
      throw new SwitchboardError(
        'CONFIG_INVALID',
        `batchesInFlight must be 1 to ${MAX_BATCHES_IN_FLIGHT} with a client from createPrismaClient, and 1 with any other client; got ${inFlight}.`,
      )
    }
    this.#batches = new BatchQueue({
      maxSize: checkInteger(options.batchMaxSize ?? 1_000, 'batchMaxSize', 1),
      maxWaitMs: checkInteger(options.batchMaxWaitMs ?? 0, 'batchMaxWaitMs', 0),
      maxInFlight: inFlight,
      commit: (items) => this.#commit(items),
    })
    this.#pipeline = inFlight > 1 ? openPipelinedSql(options.client) : undefined
    this.#transactionTimeoutMs = checkInteger(options.transactionTimeoutMs ?? 10_000, 'transactionTimeoutMs', 1)
    this.#now = options.now ?? Date.now
    this.#disconnectOnClose = options.disconnectOnClose ?? true
  }

  /**
   * Appends one message through the next batch, resolving after its transaction commits.
   * Rejects with `VALIDATION` or `INTERNAL` for input that cannot be stored (see
   * {@link prepareAppend}; nothing is queued), `INTERNAL` when the batch's transaction fails,
   * `CLOSED` once `close()` was called.
   */
  append(input: AppendInput): Promise<AppendResult> {
    if (this.#closing !== undefined) return Promise.reject(closedError())
    let item: PreparedAppend
    try {
      item = prepareAppend(input)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#batches.push(item)
  }

  /** Resolves when PostgreSQL answers `SELECT 1`; rejects with `CLOSED` after `close()`, else with the driver's error. */
  ping(): Promise<void> {
    return this.#read(async () => {
      await this.#sql.$queryRawUnsafe('SELECT 1')
    })
  }

  /**
   * The channel's epoch, latest seq and oldest stored seq. Creates the stream row (and so its
   * epoch) when the channel is new, so the epoch is stable across calls and nodes. Rejects with
   * `CLOSED` after `close()`.
   */
  position(channel: string): Promise<StreamPosition> {
    return this.#read(async () => {
      const read = (): Promise<{ seq: bigint; epoch: string; oldest: bigint | null }[]> =>
        this.#sql.$queryRawUnsafe(
          `SELECT s.seq, s.epoch, (SELECT min(m.seq) FROM messages AS m WHERE m.channel = s.channel) AS oldest
           FROM streams AS s WHERE s.channel = $1`,
          channel,
        )
      let [row] = await read()
      if (row === undefined) {
        await this.#sql.$executeRawUnsafe(`INSERT INTO streams (channel) VALUES ($1) ON CONFLICT (channel) DO NOTHING`, channel)
        ;[row] = await read()
      }
      if (row === undefined) throw new SwitchboardError('INTERNAL', 'The stream row could not be created.')
      const seq = toSafeNumber(row.seq)
      return { epoch: row.epoch, seq, oldestSeq: row.oldest === null ? seq + 1 : toSafeNumber(row.oldest) }
    })
  }

  /** Stored messages with `seq > afterSeq`, ascending, at most `limit`. Rejects with `CLOSED` after `close()`. */
  range(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.#read(async () => {
      const after = seqParam(afterSeq)
      const count = seqParam(limit)
      if (after === undefined || count === undefined || count === 0) return []
      return this.#messages(`m.seq > $2 ORDER BY m.seq LIMIT $3`, channel, after, count)
    })
  }

  /**
   * `range` with each message's `data` as JSON text (PostgreSQL's own spelling of the jsonb,
   * e.g. `{"a": 1}`), read as text so it is never parsed: replays splice it into their frames.
   */
  rangeJson(channel: string, afterSeq: number, limit: number): Promise<StoredMessageJson[]> {
    return this.#read(async () => {
      const after = seqParam(afterSeq)
      const count = seqParam(limit)
      if (after === undefined || count === undefined || count === 0) return []
      const rows = await this.#sql.$queryRawUnsafe<(Omit<MessageRow, 'data'> & { data_json: string; epoch: string })[]>(
        `SELECT ${MESSAGE_COLUMNS_DATA_JSON}, s.epoch FROM messages AS m JOIN streams AS s ON s.channel = m.channel
         WHERE m.channel = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`,
        channel,
        after,
        count,
      )
      return rows.map((row) => toMessageJson(row, channel, row.epoch))
    })
  }

  /**
   * The `limit` stored messages just before seq `before` (exclusive; default: the latest),
   * oldest first; `[]` when `before` ≤ 1. Rejects with `CLOSED` after `close()`.
   */
  history(channel: string, options: { before?: number; limit: number }): Promise<StoredMessage[]> {
    return this.#read(async () => {
      const count = seqParam(options.limit)
      const before = options.before === undefined ? Number.MAX_SAFE_INTEGER : seqParam(Math.ceil(options.before))
      if (count === undefined || count === 0 || before === undefined || before <= 1) return []
      return (await this.#messages(`m.seq < $2 ORDER BY m.seq DESC LIMIT $3`, channel, before, count)).reverse()
    })
  }

  /** The user's acked seq on `channel`, 0 when it never acked. Rejects with `CLOSED` after `close()`. */
  cursor(channel: string, user: string): Promise<number> {
    return this.#read(async () => {
      const [row] = await this.#sql.$queryRawUnsafe<{ seq: bigint }[]>(
        `SELECT seq FROM cursors WHERE channel = $1 AND user_id = $2`,
        channel,
        user,
      )
      return row === undefined ? 0 : toSafeNumber(row.seq)
    })
  }

  /**
   * Moves the user's cursor to `seq`, clamped to the channel's latest seq, in one statement;
   * a lower seq changes nothing, so on a channel never appended to the cursor stays 0.
   * Rejects with `CLOSED` after `close()`.
   */
  ack(channel: string, user: string, seq: number): Promise<void> {
    return this.#read(async () => {
      const target = seqParam(seq)
      if (target === undefined || target === 0) return
      await this.#sql.$executeRawUnsafe(
        `INSERT INTO cursors AS c (channel, user_id, seq, updated_at)
         SELECT s.channel, $2, LEAST($3::bigint, s.seq), now() FROM streams AS s WHERE s.channel = $1 AND s.seq > 0
         ON CONFLICT (channel, user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
         WHERE c.seq < excluded.seq`,
        channel,
        user,
        target,
      )
    })
  }

  /**
   * Records a dead letter stamped `now()` in one `INSERT … ON CONFLICT DO NOTHING`: resolves
   * `true` when it was inserted, `false` when (channel, seq, user) was already recorded (by any
   * node). Rejects with `VALIDATION` for input PostgreSQL would refuse (see
   * {@link insertDeadLetter}), `CLOSED` after `close()`.
   */
  deadLetter(letter: Omit<DeadLetter, 'ts'>): Promise<boolean> {
    return this.#read(() => insertDeadLetter(this.#sql, letter, this.#now()))
  }

  /**
   * Dead letters, oldest first, of `channel` and/or `user` when given, at most `limit`
   * (default 100). Rejects with `CLOSED` after `close()`.
   */
  deadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    return this.#read(() => selectDeadLetters(this.#sql, filter))
  }

  /**
   * Trims the channel's oldest messages: past `maxMessages`, then those older than `maxAgeMs`
   * (`created_at < now() - maxAgeMs`, from the oldest up to the first younger one, so only a
   * prefix goes). A limit missing from `policy` falls back to `defaultRetention`'s. Resolves
   * with how many messages were trimmed. Rejects with `CONFIG_INVALID` for a negative or
   * non-integer limit, `CLOSED` after `close()`.
   */
  trim(channel: string, policy: RetentionPolicy): Promise<number> {
    return this.#read(async () => {
      const { maxMessages, maxAgeMs } = checkRetention({ ...this.#retention, ...definedLimits(policy) }, 'policy')
      let trimmed = 0
      if (maxMessages !== undefined) {
        trimmed += await this.#sql.$executeRawUnsafe(
          `DELETE FROM messages WHERE channel = $1 AND seq <= (SELECT seq FROM streams WHERE channel = $1) - $2::bigint`,
          channel,
          maxMessages,
        )
      }
      if (maxAgeMs !== undefined) {
        trimmed += await this.#sql.$executeRawUnsafe(
          `DELETE FROM messages WHERE channel = $1 AND seq < COALESCE(
             (SELECT seq FROM messages WHERE channel = $1 AND created_at >= $2::timestamptz ORDER BY seq LIMIT 1),
             (SELECT seq + 1 FROM streams WHERE channel = $1))`,
          channel,
          new Date(this.#now() - maxAgeMs).toISOString(),
        )
      }
      this.#stats.trimmed += trimmed
      return trimmed
    })
  }

  /**
   * Applies `policy` (with `defaultRetention`'s fallbacks, as in `trim`) to every channel whose
   * name starts with `${namespace}:`, in at most two statements whatever the number of
   * channels: one `DELETE` of what lies more than `maxMessages` behind each stream's seq, then
   * one of each stream's prefix older than `maxAgeMs` (up to its first younger message, as
   * `trim`). `%`, `_` and `\` in `namespace` match only themselves. Resolves with how many
   * messages were trimmed in all. Rejects with `CONFIG_INVALID` for a negative or non-integer
   * limit, `CLOSED` after `close()`.
   */
  trimNamespace(namespace: string, policy: RetentionPolicy): Promise<number> {
    return this.#read(async () => {
      const { maxMessages, maxAgeMs } = checkRetention({ ...this.#retention, ...definedLimits(policy) }, 'policy')
      const channels = `${escapeLike(namespace)}:%`
      let trimmed = 0
      if (maxMessages !== undefined) {
        trimmed += await this.#sql.$executeRawUnsafe(
          deleteStreamPrefixes(`y.seq <= s.seq - $2::bigint`),
          channels,
          maxMessages,
        )
      }
      if (maxAgeMs !== undefined) {
        // Up to each stream's first message young enough to stay: only a prefix goes (so
        // `oldestSeq` stays exact) even when nodes' clocks differ.
        trimmed += await this.#sql.$executeRawUnsafe(
          deleteStreamPrefixes(`y.seq < COALESCE(
             (SELECT z.seq FROM messages AS z WHERE z.channel = s.channel AND z.created_at >= $2::timestamptz ORDER BY z.seq LIMIT 1),
             s.seq + 1)`),
          channels,
          new Date(this.#now() - maxAgeMs).toISOString(),
        )
      }
      this.#stats.trimmed += trimmed
      return trimmed
    })
  }

  /** A snapshot of the store's counters. */
  stats(): PrismaMessageStoreStats {
    return { ...this.#stats, mostBatchesInFlight: this.#batches.mostInFlight, queued: this.#batches.size }
  }

  /**
   * Commits the appends already queued, waits for reads in flight, then disconnects the client
   * (unless `disconnectOnClose` is false; see `disconnectPrismaClient`). Calls made after it started reject with `CLOSED`.
   * Idempotent: every call resolves when the first one has finished.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#batches.flush()
      await Promise.allSettled([...this.#reads])
      await this.#pipeline?.close()
      if (this.#disconnectOnClose) await disconnectPrismaClient(this.#client)
    })()
    return this.#closing
  }

  /** Commits one batch in one statement (see `writeBatch`); rejects with `INTERNAL` (the cause attached) when it fails. */
  async #commit(items: PreparedAppend[]): Promise<AppendResult[]> {
    const nowMs = this.#now()
    const appendSql = this.#pipeline === undefined ? { sql: this.#sql, done: () => {} } : this.#inTurn(this.#pipeline)
    try {
      const outcome = await withTimeout(writeBatch(this.#sql, items, nowMs, this.#retention.maxMessages, appendSql.sql), this.#transactionTimeoutMs)
      this.#stats.transactions += 1
      this.#stats.appended += outcome.appended
      this.#stats.duplicates += items.length - outcome.appended
      this.#stats.trimmed += outcome.trimmed
      this.#stats.largestBatch = Math.max(this.#stats.largestBatch, items.length)
      return outcome.results
    } catch (cause) {
      this.#stats.failedTransactions += 1
      // A statement past its deadline would hold up every batch sent behind it on the pipelined connection.
      if (this.#pipeline !== undefined && (cause as { code?: unknown }).code === 'TIMEOUT') await this.#pipeline.abandon()
      throw new SwitchboardError('INTERNAL', 'The message could not be stored: its batch transaction failed.', { cause })
    } finally {
      appendSql.done()
    }
  }

  /**
   * The append statement of one batch on `pipeline`, sent only once the previous batch's has
   * been sent (or that batch ended without one), so PostgreSQL runs them in batch order. `done`
   * lets the next batch go whatever happened; a retried statement (a key race) goes at once.
   */
  #inTurn(pipeline: PipelinedSql): { sql: RawSql; done: () => void } {
    const turn = this.#appendTurn
    let done!: () => void
    this.#appendTurn = new Promise<void>((resolve) => (done = resolve))
    const send = async (query: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number }> => {
      await turn
      try {
        return pipeline.query(query, values)
      } finally {
        done()
      }
    }
    return {
      sql: {
        $queryRawUnsafe: async <T>(query: string, ...values: unknown[]): Promise<T> => (await send(query, values)).rows as T,
        $executeRawUnsafe: async (query: string, ...values: unknown[]): Promise<number> => (await send(query, values)).rowCount,
      },
      done: () => done(),
    }
  }

  /** Runs a read (or a single-statement write), tracked so `close()` waits for it. */
  #read<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(closedError())
    const pending = run()
    this.#reads.add(pending)
    const forget = (): void => void this.#reads.delete(pending)
    pending.then(forget, forget)
    return pending
  }

  /** Messages of `channel` matching `where` (`$2`, `$3` are `a`, `b`), with the stream's epoch. */
  async #messages(where: string, channel: string, a: number, b: number): Promise<StoredMessage[]> {
    const rows = await this.#sql.$queryRawUnsafe<(MessageRow & { epoch: string })[]>(
      `SELECT ${MESSAGE_COLUMNS}, s.epoch FROM messages AS m JOIN streams AS s ON s.channel = m.channel
       WHERE m.channel = $1 AND ${where}`,
      channel,
      a,
      b,
    )
    return rows.map((row) => toMessage(row, channel, row.epoch))
  }
}

/**
 * A `DELETE` of the messages matching `prefix` (over `y`, a stream's message, and `s`, its
 * stream) in every stream whose channel is `LIKE $1`. The `OFFSET 0` keeps the per-stream
 * subquery from being flattened, so PostgreSQL walks each stream's primary-key range instead
 * of scanning and hashing the whole `messages` table: the cost follows the namespace's
 * streams and what is deleted, not the size of the table.
 */
function deleteStreamPrefixes(prefix: string): string {
  return `DELETE FROM messages AS m USING (
    SELECT x.channel, x.seq FROM streams AS s CROSS JOIN LATERAL (
      SELECT y.channel, y.seq FROM messages AS y WHERE y.channel = s.channel AND ${prefix} OFFSET 0) AS x
    WHERE s.channel LIKE $1 ESCAPE '\\') AS d
  WHERE m.channel = d.channel AND m.seq = d.seq`
}

/** `value` with the LIKE wildcards `%` and `_` (and the escape character `\`) escaped by `\`. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, '\\$&')
}

/** `work`, or a rejection with `TIMEOUT` once `ms` passed first; the timer goes with whichever settles. */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SwitchboardError('TIMEOUT', `The append statement took longer than ${ms} ms.`)), ms)
  })
  return Promise.race([work, expired]).finally(() => clearTimeout(timer))
}

function closedError(): SwitchboardError {
  return new SwitchboardError('CLOSED', 'The message store is closed.')
}

/** Upper bound of `batchesInFlight`. */
const MAX_BATCHES_IN_FLIGHT = 16

/** `value` when it is an integer ≥ `min`; throws `CONFIG_INVALID` naming `name` otherwise. */
function checkInteger(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SwitchboardError('CONFIG_INVALID', `${name} must be an integer ≥ ${min}, got ${String(value)}.`)
  }
  return value
}
