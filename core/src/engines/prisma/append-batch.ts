import { newMessageId } from '../../delivery/message-id.js'
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

/** The problem of a string holding half of a UTF-16 surrogate pair, which UTF-8 cannot encode. */
const LONE_SURROGATE = 'must not contain a lone surrogate (half of a UTF-16 pair, e.g. \\ud800)'

/** The text fields of an append that PostgreSQL stores as `text` (no NUL character allowed). */
const TEXT_FIELDS = ['channel', 'from', 'key'] as const

/** A JSON `\u0000` escape that is not itself an escaped backslash followed by `u0000`. */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/

/**
 * A JSON escape of a surrogate (`\ud800`–`\udfff`) that is not itself an escaped backslash
 * followed by `u…`. `JSON.stringify` writes paired surrogates as the character itself and escapes
 * only lone ones, so in its output such an escape is a lone surrogate, which jsonb refuses.
 */
const JSON_LONE_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f]/

/** A lone surrogate in a string (paired ones read as one code point in `u` mode). */
const LONE_SURROGATE_CHAR = /\p{Cs}/u

/**
 * Checks and serializes one append before it joins a batch, so that input PostgreSQL would
 * refuse fails alone instead of failing everyone's batch. Throws `VALIDATION` (with `details`)
 * when `key` is longer than 128 characters, a string holds a NUL character (`\u0000`, which
 * PostgreSQL stores in neither text nor jsonb) or a lone surrogate (half of a UTF-16 pair: jsonb
 * refuses it, and a text column would silently store U+FFFD instead), and `INTERNAL` when `data` is not serializable
 * as JSON (a BigInt, a cycle). `undefined` data is stored as `null`.
 */
export function prepareAppend(input: AppendInput): PreparedAppend {
  // Allocated only for input that has a problem: this runs for every persisted publish.
  let problems: { path: string; message: string }[] | undefined
  if (input.key !== undefined && input.key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    ;(problems ??= []).push({ path: 'key', message: `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` })
  }
  for (const field of TEXT_FIELDS) {
    const value = input[field]
    if (value === undefined) continue
    if (value.includes('\u0000')) (problems ??= []).push({ path: field, message: 'must not contain a NUL character (\\u0000)' })
    if (LONE_SURROGATE_CHAR.test(value)) (problems ??= []).push({ path: field, message: LONE_SURROGATE })
  }
  let json: string | undefined
  try {
    json = JSON.stringify(input.data === undefined ? null : input.data)
  } catch (error) {
    throw new SwitchboardError('INTERNAL', 'The message data cannot be stored: it is not serializable as JSON.', { cause: error })
  }
  if (json === undefined) throw new SwitchboardError('INTERNAL', 'The message data cannot be stored: it is not serializable as JSON.')
  if (json.includes('\\u0000') && JSON_NUL.test(json)) {
    ;(problems ??= []).push({ path: 'data', message: 'must not contain a NUL character (\\u0000)' })
  }
  // JSON.stringify writes its escapes in lower case.
  if (json.includes('\\ud') && JSON_LONE_SURROGATE.test(json)) (problems ??= []).push({ path: 'data', message: LONE_SURROGATE })
  if (problems !== undefined) {
    throw new SwitchboardError('VALIDATION', 'The message cannot be stored: PostgreSQL refuses part of it.', { details: problems })
  }
  return { channel: input.channel, from: input.from, key: input.key, json }
}

/** Largest seq a stream may reach: seqs travel as JS numbers. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER

/**
 * The append statement: one atomic statement (its own transaction) that creates or bumps each
 * stream row of the batch (`INSERT … ON CONFLICT DO UPDATE` locks the row and sees its latest
 * committed seq, so concurrent writers on many nodes serialize on it; channels are sorted so
 * they cannot deadlock), inserts every new message numbered back from the stream's new seq, and
 * with a retention limit deletes what falls behind it. A seq past 2^53 − 1 becomes NULL, which
 * the NOT NULL column refuses: the statement fails and changes nothing.
 *
 * $1 channels, $2 new messages per channel; per message: $3 channel, $4 how far back from the
 * stream's new seq (0 = the last), $5 mid, $6 sender, $8 key; $7 every message's data as one
 * JSON array (their JSON texts joined: nothing to escape, unlike a `jsonb[]` literal); $9 the time; $10 the
 * retention limit (messages kept per stream; only in {@link APPEND_TRIMMING}).
 */
const APPEND = (trim: boolean): string => `
WITH b AS (
  INSERT INTO streams AS s (channel, seq)
  SELECT v.channel, v.added FROM unnest($1::text[], $2::bigint[]) AS v(channel, added) ORDER BY v.channel
  ON CONFLICT (channel) DO UPDATE SET seq = CASE WHEN s.seq + excluded.seq <= ${MAX_SEQ} THEN s.seq + excluded.seq END
  RETURNING s.channel, s.seq, s.epoch
), inserted AS (
  INSERT INTO messages (channel, seq, mid, from_user, data, idem_key, created_at)
  SELECT m.channel, b.seq - m.back, m.mid, m.from_user, d.data, m.idem_key, $9::timestamptz
  FROM unnest($3::text[], $4::bigint[], $5::uuid[], $6::text[], $8::varchar[]) WITH ORDINALITY AS m(channel, back, mid, from_user, idem_key, i)
  JOIN jsonb_array_elements($7::jsonb) WITH ORDINALITY AS d(data, i) ON d.i = m.i
  JOIN b ON b.channel = m.channel${trim ? ' WHERE m.back < $10::bigint' : ''}
  RETURNING 1
)${
  trim
    ? `, trimmed AS (
  DELETE FROM messages AS x USING b WHERE x.channel = b.channel AND x.seq <= b.seq - $10::bigint RETURNING 1
)`
    : ''
}
SELECT b.channel, b.seq, b.epoch, (SELECT count(*) FROM inserted) AS inserted${trim ? ', (SELECT count(*) FROM trimmed) AS trimmed' : ''} FROM b`

const APPEND_PLAIN = APPEND(false)
const APPEND_TRIMMING = APPEND(true)

/** The SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505'

/** Times a batch is tried again when another node stored one of its keys meanwhile. */
const KEY_RACE_ATTEMPTS = 5

/**
 * Appends `items` in one atomic statement on `sql` (no explicit transaction; see
 * {@link APPEND_PLAIN}): first, when items carry idempotency keys, reads the messages already
 * stored under them (those items resolve as duplicates and use no seq; a key repeated inside
 * the batch resolves with the batch's own first message), then creates or bumps each stream
 * row and inserts every new message, numbered densely in input order per channel. When another
 * writer stores one of the keys between the two, the statement hits the `(channel, idem_key)`
 * unique constraint, changes nothing and the batch is tried again, so a key is stored once.
 * With `maxMessages`, each appended channel keeps at most that many messages (a batch's own
 * messages past it are counted as trimmed and not written). Every new message is stamped
 * `nowMs`. Rejects with whatever PostgreSQL raises; nothing of the batch is stored then.
 * The append statement goes to `appendSql` (default `sql`), the key lookup to `sql`.
 */
export async function writeBatch(
  sql: RawSql,
  items: readonly PreparedAppend[],
  nowMs: number,
  maxMessages: number | undefined,
  appendSql: RawSql = sql,
): Promise<BatchOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeOnce(sql, appendSql, items, nowMs, maxMessages)
    } catch (error) {
      if (attempt >= KEY_RACE_ATTEMPTS || !isKeyRace(error)) throw error
    }
  }
}

async function writeOnce(sql: RawSql, appendSql: RawSql, items: readonly PreparedAppend[], nowMs: number, maxMessages: number | undefined): Promise<BatchOutcome> {
  const firsts = await storedFirsts(sql, items)
  const results: (AppendResult | undefined)[] = []
  const fresh: { index: number; item: PreparedAppend; mid: string; data: unknown }[] = []
  /** Where each key of this batch is first stored: an index into `results`. */
  const batchKeys = new Map<string, number>()
  const repeats: { index: number; of: number }[] = []
  for (const [index, item] of items.entries()) {
    const keyOf = item.key === undefined ? undefined : `${item.channel}\u0000${item.key}`
    const stored = keyOf === undefined ? undefined : firsts.get(keyOf)
    if (stored !== undefined) {
      results.push({ message: structuredClone(stored), duplicate: true })
      continue
    }
    const earlier = keyOf === undefined ? undefined : batchKeys.get(keyOf)
    if (earlier !== undefined) {
      results.push(undefined)
      repeats.push({ index, of: earlier })
      continue
    }
    if (keyOf !== undefined) batchKeys.set(keyOf, index)
    results.push(undefined)
    fresh.push({ index, item, mid: newMessageId(nowMs), data: JSON.parse(item.json) as unknown })
  }
  if (fresh.length === 0) return { results: results as AppendResult[], appended: 0, trimmed: 0 }

  // How many new messages each channel gets, then each message's distance back from the last.
  const added = new Map<string, number>()
  for (const { item } of fresh) added.set(item.channel, (added.get(item.channel) ?? 0) + 1)
  const seen = new Map<string, number>()
  const rows = { channel: [] as string[], back: [] as number[], mid: [] as string[], from: [] as string[], data: [] as string[], key: [] as (string | null)[] }
  for (const { item, mid } of fresh) {
    const ord = (seen.get(item.channel) ?? 0) + 1
    seen.set(item.channel, ord)
    rows.channel.push(item.channel)
    rows.back.push((added.get(item.channel) as number) - ord)
    rows.mid.push(mid)
    rows.from.push(item.from)
    rows.data.push(item.json)
    rows.key.push(item.key ?? null)
  }
  const channels = [...added.keys()]
  const data = `[${rows.data.join(',')}]`
  const values: unknown[] = [
    textArray(channels),
    `{${channels.map((c) => added.get(c)).join(',')}}`,
    textArray(rows.channel),
    `{${rows.back.join(',')}}`,
    `{${rows.mid.join(',')}}`,
    textArray(rows.from),
    data,
    textArray(rows.key),
    new Date(nowMs).toISOString(),
  ]
  if (maxMessages !== undefined) values.push(maxMessages)
  const streams = await appendSql.$queryRawUnsafe<{ channel: string; seq: bigint | string; epoch: string; inserted: bigint | string; trimmed?: bigint | string }[]>(
    maxMessages === undefined ? APPEND_PLAIN : APPEND_TRIMMING,
    ...values,
  )
  const byChannel = new Map(streams.map((row) => [row.channel, { seq: toSafeNumber(row.seq), epoch: row.epoch }]))
  for (const [i, { index, item, mid, data }] of fresh.entries()) {
    const stream = byChannel.get(item.channel)
    if (stream === undefined) throw new SwitchboardError('INTERNAL', 'The append statement returned no stream row for a channel of its batch.')
    const message: StoredMessage = { channel: item.channel, seq: stream.seq - (rows.back[i] as number), epoch: stream.epoch, mid, from: item.from, data, ts: nowMs }
    results[index] = { message, duplicate: false }
  }
  for (const { index, of } of repeats) results[index] = { message: structuredClone((results[of] as AppendResult).message), duplicate: true }
  const skipped = maxMessages === undefined ? 0 : rows.back.filter((back) => back >= maxMessages).length
  const trimmed = streams.length === 0 ? 0 : Number(streams[0]?.trimmed ?? 0) + skipped
  return { results: results as AppendResult[], appended: fresh.length, trimmed }
}

/** Characters an array literal's quoted element escapes with a backslash. */
const ARRAY_ESCAPED = /["\\]/

/**
 * `values` as a PostgreSQL array literal (`{"a","b\\"c",NULL}`), passed as one text parameter
 * and cast by the statement. Built here in one `join` rather than by `pg`, whose per-element
 * escaping made its array parameters the largest allocation of an append. Every element is
 * quoted, so commas, braces, spaces and the word NULL stay text; `null` is SQL NULL.
 */
function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : ARRAY_ESCAPED.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : `"${v}"`)).join(',')}}`
}

/** Whether `error` is the `(channel, idem_key)` unique violation of a key stored by another writer meanwhile. */
function isKeyRace(error: unknown): boolean {
  for (let e = error as { code?: unknown; constraint?: unknown; cause?: unknown; meta?: { code?: unknown } } | undefined, depth = 0; e && depth < 4; depth++) {
    const code = e.code ?? e.meta?.code
    if (code === UNIQUE_VIOLATION || code === 'P2002') return /idem_key/.test(String(e.constraint ?? (e as Error).message ?? ''))
    e = e.cause as typeof e
  }
  return false
}

/** The stored messages of the batch's idempotency keys, by `channel \0 key`. */
async function storedFirsts(sql: RawSql, items: readonly PreparedAppend[]): Promise<Map<string, StoredMessage>> {
  const keyed = items.filter((item) => item.key !== undefined)
  const firsts = new Map<string, StoredMessage>()
  if (keyed.length === 0) return firsts
  const rows = await sql.$queryRawUnsafe<(MessageRow & { channel: string; idem_key: string; epoch: string })[]>(
    `SELECT m.channel, m.idem_key, s.epoch, ${MESSAGE_COLUMNS}
     FROM messages AS m JOIN unnest($1::text[], $2::text[]) AS k(channel, idem_key)
       ON m.channel = k.channel AND m.idem_key = k.idem_key
     JOIN streams AS s ON s.channel = m.channel`,
    keyed.map((item) => item.channel),
    keyed.map((item) => item.key),
  )
  for (const row of rows) firsts.set(`${row.channel}\u0000${row.idem_key}`, toMessage(row, row.channel, row.epoch))
  return firsts
}
