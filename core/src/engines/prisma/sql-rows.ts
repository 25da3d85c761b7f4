import { SwitchboardError } from '../../errors.js'
import type { StoredMessage, StoredMessageJson } from '../store.js'

/**
 * The raw-SQL surface of a PrismaClient or of its interactive transaction that the store uses.
 * Values are always bound as parameters (`$1`, `$2`, …), never spliced into the SQL text.
 */
export interface RawSql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>
}

/** A `messages` row as the store selects it (int8 comes as `bigint` from Prisma, as a string from `pg`; both parse jsonb). */
export interface MessageRow {
  readonly seq: bigint | number | string
  readonly mid: string
  readonly from_user: string
  readonly data: unknown
  /** `created_at` in ms since the Unix epoch (selected as a float8: parsing it beats parsing a timestamp). */
  readonly created_ms: number
}

/** The columns of {@link MessageRow}, for SELECT lists (`m` is the `messages` alias). */
export const MESSAGE_COLUMNS = 'm.seq, m.mid::text AS mid, m.from_user, m.data, (extract(epoch FROM m.created_at) * 1000)::float8 AS created_ms'

/** {@link MESSAGE_COLUMNS} with `data` as its JSON text, `data_json` (`pg` parses jsonb; text it leaves alone). */
export const MESSAGE_COLUMNS_DATA_JSON = 'm.seq, m.mid::text AS mid, m.from_user, m.data::text AS data_json, (extract(epoch FROM m.created_at) * 1000)::float8 AS created_ms'

/**
 * `value` (an int8 column, or a count) as a JS number. Throws `INTERNAL` when it is beyond
 * `Number.MAX_SAFE_INTEGER`, where a number would silently lose precision.
 */
export function toSafeNumber(value: bigint | number | string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) {
    throw new SwitchboardError('INTERNAL', `A stored integer (${String(value)}) is beyond the safe integer range.`)
  }
  return n
}

/** The {@link StoredMessage} of `row`, on `channel` with its stream's `epoch`. */
export function toMessage(row: MessageRow, channel: string, epoch: string): StoredMessage {
  return {
    channel,
    seq: toSafeNumber(row.seq),
    epoch,
    mid: row.mid,
    from: row.from_user,
    data: row.data,
    ts: Number(row.created_ms),
  }
}

/**
 * `value` rounded down and clamped to the range a seq parameter may take (`0` to
 * `Number.MAX_SAFE_INTEGER`); `undefined` for `NaN`, which matches nothing.
 */
export function seqParam(value: number): number | undefined {
  if (Number.isNaN(value)) return undefined
  return Math.min(Math.max(Math.floor(value), 0), Number.MAX_SAFE_INTEGER)
}

/** The {@link StoredMessageJson} of a row selected with {@link MESSAGE_COLUMNS_DATA_JSON}. */
export function toMessageJson(row: Omit<MessageRow, 'data'> & { readonly data_json: string }, channel: string, epoch: string): StoredMessageJson {
  return {
    channel,
    seq: toSafeNumber(row.seq),
    epoch,
    mid: row.mid,
    from: row.from_user,
    dataJson: row.data_json,
    ts: Number(row.created_ms),
  }
}
