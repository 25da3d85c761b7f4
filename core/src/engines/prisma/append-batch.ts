import { randomUUID } from 'node:crypto'
import { SwitchboardError } from '../../errors.js'
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../../protocol/frames.js'
import type { AppendInput, AppendResult, StoredMessage } from '../store.js'
import { MESSAGE_COLUMNS, toMessage, toSafeNumber, type MessageRow, type RawSql } from './sql-rows.js'

/** One append checked and serialized, waiting for its batch. */
export interface PreparedAppend {
  readonly channel: string
  readonly from: string
  readonly key: string | undefined
  /** `data` as JSON text (`null` for `undefined`). */
  readonly json: string
}

/** What a committed batch did, besides each caller's result. */
export interface BatchOutcome {
  /** One result per input, in input order. */
  readonly results: AppendResult[]
  /** Messages inserted. */
  readonly appended: number
  /** Messages trimmed by `maxMessages` retention. */
  readonly trimmed: number
}

/** A JSON `\u0000` escape that is not itself an escaped backslash followed by `u0000`. */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/

/**
 * Checks and serializes one append before it joins a batch, so that input PostgreSQL would
 * refuse fails alone instead of failing everyone's batch. Throws `VALIDATION` (with `details`)
 * when `key` is longer than 128 characters or a string holds a NUL character (`\u0000`, which
 * PostgreSQL stores in neither text nor jsonb), and `INTERNAL` when `data` is not serializable
 * as JSON (a BigInt, a cycle). `undefined` data is stored as `null`.
 */
export function prepareAppend(input: AppendInput): PreparedAppend {
  const problems: { path: string; message: string }[] = []
  if (input.key !== undefined && input.key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    problems.push({ path: 'key', message: `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` })
  }
  for (const field of ['channel', 'from', 'key'] as const) {
    if (input[field]?.includes('\u0000')) problems.push({ path: field, message: 'must not contain a NUL character (\\u0000)' })
  }
  let json: string | undefined
  try {
    json = JSON.stringify(input.data === undefined ? null : input.data)
  } catch (error) {
    throw new SwitchboardError('INTERNAL', 'The message data cannot be stored: it is not serializable as JSON.', { cause: error })
  }
  if (json === undefined) throw new SwitchboardError('INTERNAL', 'The message data cannot be stored: it is not serializable as JSON.')
  if (json.includes('\\u0000') && JSON_NUL.test(json)) {
    problems.push({ path: 'data', message: 'must not contain a NUL character (\\u0000)' })
  }
  if (problems.length > 0) {
    throw new SwitchboardError('VALIDATION', 'The message cannot be stored: PostgreSQL refuses part of it.', { details: problems })
  }
  return { channel: input.channel, from: input.from, key: input.key, json }
}

/** A stream row locked for this batch, and what the batch adds to it. */
interface LockedStream {
  readonly epoch: string
  /** The seq the next new message gets, minus one. */
  seq: number
  added: number
}

/**
 * Appends `items` inside the caller's transaction `sql`, which must commit or roll back as one:
 * creates missing stream rows, locks every stream row of the batch (sorted, so concurrent
 * batches on many nodes cannot deadlock), looks up idempotency keys after locking (a writer
 * that locked first has committed its keys by then), raises each stream's seq once by its count
 * of new messages, inserts every new message in one statement, and, with `maxMessages`, trims
 * each appended channel's oldest messages past it. Every new message is stamped `nowMs`.
 * Rejects with whatever PostgreSQL raises; the caller's transaction then rolls back.
 */
export async function writeBatch(
  sql: RawSql,
  items: readonly PreparedAppend[],
  nowMs: number,
  maxMessages: number | undefined,
): Promise<BatchOutcome> {
  const channels = [...new Set(items.map((item) => item.channel))].sort()
  await sql.$executeRawUnsafe(`INSERT INTO streams (channel) SELECT unnest($1::text[]) ON CONFLICT (channel) DO NOTHING`, channels)
  const locked = await sql.$queryRawUnsafe<{ channel: string; seq: bigint; epoch: string }[]>(
    `SELECT channel, seq, epoch FROM streams WHERE channel = ANY($1::text[]) ORDER BY channel FOR NO KEY UPDATE`,
    channels,
  )
  const streams = new Map<string, LockedStream>(locked.map((row) => [row.channel, { epoch: row.epoch, seq: toSafeNumber(row.seq), added: 0 }]))
  const firsts = await storedFirsts(sql, items, streams)

  const results: AppendResult[] = []
  const rows = { channel: [] as string[], seq: [] as number[], mid: [] as string[], from: [] as string[], data: [] as string[], key: [] as (string | null)[] }
  for (const item of items) {
    const stream = streams.get(item.channel)
    if (stream === undefined) throw new SwitchboardError('INTERNAL', 'A stream row vanished while its batch held it.')
    const keyOf = item.key === undefined ? undefined : `${item.channel}\u0000${item.key}`
    const first = keyOf === undefined ? undefined : firsts.get(keyOf)
    if (first !== undefined) {
      results.push({ message: structuredClone(first), duplicate: true })
      continue
    }
    stream.seq += 1
    stream.added += 1
    const message: StoredMessage = {
      channel: item.channel,
      seq: stream.seq,
      epoch: stream.epoch,
      mid: randomUUID(),
      from: item.from,
      data: JSON.parse(item.json) as unknown,
      ts: nowMs,
    }
    if (keyOf !== undefined) firsts.set(keyOf, message)
    results.push({ message, duplicate: false })
    rows.channel.push(message.channel)
    rows.seq.push(message.seq)
    rows.mid.push(message.mid)
    rows.from.push(message.from)
    rows.data.push(item.json)
    rows.key.push(item.key ?? null)
  }
  if (rows.seq.length === 0) return { results, appended: 0, trimmed: 0 }

  const grown = [...streams].filter(([, stream]) => stream.added > 0)
  await sql.$executeRawUnsafe(
    `UPDATE streams AS s SET seq = s.seq + v.added FROM unnest($1::text[], $2::bigint[]) AS v(channel, added) WHERE s.channel = v.channel`,
    grown.map(([channel]) => channel),
    grown.map(([, stream]) => stream.added),
  )
  await sql.$executeRawUnsafe(
    `INSERT INTO messages (channel, seq, mid, from_user, data, idem_key, created_at)
     SELECT v.channel, v.seq, v.mid, v.from_user, v.data, v.idem_key, $7::timestamptz
     FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::jsonb[], $6::varchar[]) AS v(channel, seq, mid, from_user, data, idem_key)`,
    rows.channel,
    rows.seq,
    rows.mid,
    rows.from,
    rows.data,
    rows.key,
    new Date(nowMs).toISOString(),
  )
  const trimmed = maxMessages === undefined ? 0 : await trimPast(sql, grown, maxMessages)
  return { results, appended: rows.seq.length, trimmed }
}

/** The stored messages of the batch's idempotency keys, by `channel \0 key`. */
async function storedFirsts(
  sql: RawSql,
  items: readonly PreparedAppend[],
  streams: ReadonlyMap<string, LockedStream>,
): Promise<Map<string, StoredMessage>> {
  const keyed = items.filter((item) => item.key !== undefined)
  const firsts = new Map<string, StoredMessage>()
  if (keyed.length === 0) return firsts
  const rows = await sql.$queryRawUnsafe<(MessageRow & { channel: string; idem_key: string })[]>(
    `SELECT m.channel, m.idem_key, ${MESSAGE_COLUMNS}
     FROM messages AS m JOIN unnest($1::text[], $2::text[]) AS k(channel, idem_key)
       ON m.channel = k.channel AND m.idem_key = k.idem_key`,
    keyed.map((item) => item.channel),
    keyed.map((item) => item.key),
  )
  for (const row of rows) {
    const epoch = streams.get(row.channel)?.epoch
    if (epoch !== undefined) firsts.set(`${row.channel}\u0000${row.idem_key}`, toMessage(row, row.channel, epoch))
  }
  return firsts
}

/** Deletes, for each grown stream, the messages more than `maxMessages` behind its new seq. */
async function trimPast(sql: RawSql, grown: readonly [string, LockedStream][], maxMessages: number): Promise<number> {
  const over = grown.filter(([, stream]) => stream.seq - maxMessages > 0)
  if (over.length === 0) return 0
  return sql.$executeRawUnsafe(
    `DELETE FROM messages AS m USING unnest($1::text[], $2::bigint[]) AS v(channel, upto) WHERE m.channel = v.channel AND m.seq <= v.upto`,
    over.map(([channel]) => channel),
    over.map(([, stream]) => stream.seq - maxMessages),
  )
}
