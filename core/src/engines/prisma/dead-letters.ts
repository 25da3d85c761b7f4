import { SwitchboardError, type ErrorDetail } from '../../errors.js'
import type { DeadLetter } from '../store.js'
import { seqParam, toSafeNumber, type RawSql } from './sql-rows.js'

/** Which dead letters to list (see `MessageStore.deadLetters`). */
export interface DeadLetterFilter {
  readonly channel?: string
  readonly user?: string
  /** Most letters returned. Default 100. */
  readonly limit?: number
}

/** A `dead_letters` row as {@link selectDeadLetters} selects it. */
interface DeadLetterRow {
  readonly channel: string
  readonly seq: bigint | number
  readonly user_id: string
  readonly mid: string
  readonly reason: string
  readonly attempts: number
  readonly created_at: Date
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const INT4_MAX = 2_147_483_647

/**
 * Inserts `letter` stamped `nowMs` unless (channel, seq, user) is already recorded
 * (`ON CONFLICT DO NOTHING` on the table's unique key, so two nodes racing store one row).
 * Resolves `true` when a row was inserted. Throws `VALIDATION` (with `details`) for input
 * PostgreSQL would refuse: a NUL character in a string, a `mid` that is not a UUID, a `seq`
 * that is not a non-negative safe integer, `attempts` outside 0..2^31-1.
 */
export async function insertDeadLetter(sql: RawSql, letter: Omit<DeadLetter, 'ts'>, nowMs: number): Promise<boolean> {
  checkLetter(letter)
  const inserted = await sql.$executeRawUnsafe(
    `INSERT INTO dead_letters (channel, seq, user_id, mid, reason, attempts, created_at)
     VALUES ($1, $2::bigint, $3, $4::uuid, $5, $6::int, $7::timestamptz)
     ON CONFLICT (channel, seq, user_id) DO NOTHING`,
    letter.channel,
    letter.seq,
    letter.user,
    letter.mid,
    letter.reason,
    letter.attempts,
    new Date(nowMs).toISOString(),
  )
  return inserted > 0
}

/**
 * Dead letters matching `filter`, oldest first (by `created_at`, then by insertion order), at
 * most `limit` (default 100; `[]` for 0 or `NaN`).
 */
export async function selectDeadLetters(sql: RawSql, filter: DeadLetterFilter): Promise<DeadLetter[]> {
  const limit = seqParam(filter.limit ?? 100)
  if (limit === undefined || limit === 0) return []
  const values: unknown[] = []
  const where: string[] = []
  if (filter.channel !== undefined) where.push(`channel = $${values.push(filter.channel)}`)
  if (filter.user !== undefined) where.push(`user_id = $${values.push(filter.user)}`)
  const rows = await sql.$queryRawUnsafe<DeadLetterRow[]>(
    `SELECT channel, seq, user_id, mid::text AS mid, reason, attempts, created_at FROM dead_letters
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${values.push(limit)}`,
    ...values,
  )
  return rows.map((row) => ({
    channel: row.channel,
    seq: toSafeNumber(row.seq),
    user: row.user_id,
    mid: row.mid,
    reason: row.reason,
    attempts: Number(row.attempts),
    ts: row.created_at.getTime(),
  }))
}

/** Throws `VALIDATION` listing every field of `letter` PostgreSQL would refuse. */
function checkLetter(letter: Omit<DeadLetter, 'ts'>): void {
  const problems: ErrorDetail[] = []
  for (const field of ['channel', 'user', 'reason'] as const) {
    if (letter[field].includes('\u0000')) problems.push({ path: field, message: 'must not contain a NUL character (\\u0000)' })
  }
  if (!UUID.test(letter.mid)) problems.push({ path: 'mid', message: 'must be a UUID' })
  if (!(Number.isSafeInteger(letter.seq) && letter.seq >= 0)) problems.push({ path: 'seq', message: 'must be a non-negative integer' })
  if (!(Number.isInteger(letter.attempts) && letter.attempts >= 0 && letter.attempts <= INT4_MAX)) {
    problems.push({ path: 'attempts', message: `must be an integer from 0 to ${INT4_MAX}` })
  }
  if (problems.length > 0) {
    throw new SwitchboardError('VALIDATION', 'The dead letter cannot be stored: PostgreSQL refuses part of it.', { details: problems })
  }
}
