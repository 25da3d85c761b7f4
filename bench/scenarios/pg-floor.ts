import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { nowMs } from '../lib/clock.js'
import { makePayload } from '../lib/payload.js'
import { DATABASE_URL } from './services.js'
import { round } from './window.js'

/** What the bare-`pg` floor measured. */
export interface PgFloorResult {
  rows: number
  batchSize: number
  /** Rows committed per second. */
  rowsPerSecond: number
  /** Mean time of one multi-row INSERT (ms). */
  meanBatchMs: number
  /** Rows per second of every run, when the floor is the fastest of several (see {@link fastestPgFloor}). */
  runs?: number[]
}

/**
 * The floor from `passes` runs of {@link runPgFloor}: the fastest, so the ratio to it is the
 * strictest the machine gave (a slow spell lowers one run, never raises it), with every run's
 * rows per second in `runs`.
 */
export async function fastestPgFloor(schema: string, rows: number, passes: number): Promise<PgFloorResult> {
  const results: PgFloorResult[] = []
  // Each run writes streams of its own (`floor<pass>:r<i>`), numbered from 1 like the first.
  for (let pass = 0; pass < Math.max(1, passes); pass++) results.push(await runPgFloor(schema, rows, 500, pass === 0 ? 'floor' : `floor${pass}`))
  const fastest = results.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a))
  return results.length > 1 ? { ...fastest, runs: results.map(r => r.rowsPerSecond) } : fastest
}

/**
 * The floor of persisted publishes: the same rows the PrismaMessageStore writes (100 channels,
 * 200-byte JSON bodies, uuid, sender, timestamp) inserted by bare `pg` on one connection, in
 * multi-row INSERT statements of `batchSize` rows (each its own transaction, committed with
 * PostgreSQL's defaults), one after another: the store's group commit without anything else.
 * Runs in `schema` (migrated), under channels `<prefix>:r<i>` of its own (default `floor`).
 */
export async function runPgFloor(schema: string, rows: number, batchSize = 500, prefix = 'floor'): Promise<PgFloorResult> {
  const client = new pg.Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` })
  await client.connect()
  try {
    const channels = Array.from({ length: 100 }, (_, i) => `${prefix}:r${i}`)
    await client.query(`INSERT INTO streams (channel) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [channels])
    const seqs = new Array<number>(channels.length).fill(0)
    let written = 0
    const start = nowMs()
    while (written < rows) {
      const n = Math.min(batchSize, rows - written)
      const cols = { channel: [] as string[], seq: [] as number[], mid: [] as string[], from: [] as string[], data: [] as string[] }
      for (let i = 0; i < n; i++) {
        const c = (written + i) % channels.length
        cols.channel.push(channels[c]!)
        cols.seq.push(++seqs[c]!)
        cols.mid.push(randomUUID())
        cols.from.push(`u${c}`)
        cols.data.push(makePayload(nowMs()))
      }
      await client.query(
        `INSERT INTO messages (channel, seq, mid, from_user, data, created_at)
         SELECT v.channel, v.seq, v.mid, v.from_user, v.data, $6::timestamptz
         FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::jsonb[]) AS v(channel, seq, mid, from_user, data)`,
        [cols.channel, cols.seq, cols.mid, cols.from, cols.data, new Date().toISOString()],
      )
      written += n
    }
    const ms = nowMs() - start
    return { rows, batchSize, rowsPerSecond: Math.round((rows * 1000) / ms), meanBatchMs: round(ms / Math.ceil(rows / batchSize), 2) }
  } finally {
    await client.end()
  }
}
