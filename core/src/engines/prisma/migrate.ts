import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { SwitchboardError } from '../../errors.js'
import { quoteIdentifier, resolvePostgresConnection, type PostgresConnectionOptions } from './postgres-connection.js'

/** The repository's committed migrations: `prisma/migrations/` at the root of the workspace. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../prisma/migrations/', import.meta.url))

/** The advisory lock `prisma migrate deploy` takes too, so the two never run at once. */
const PRISMA_MIGRATE_LOCK = 72707369

/** Prisma's bookkeeping table, exactly as `prisma migrate deploy` creates it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

/** Options of {@link applyMigrations}. */
export interface ApplyMigrationsOptions extends PostgresConnectionOptions {
  /** Folder of `<name>/migration.sql` folders, applied in name order. Default {@link MIGRATIONS_DIR}. */
  readonly migrationsDir?: string
  /**
   * How long to wait for the migration lock held by another process, and for each table lock
   * a migration needs, before giving up with `INTERNAL` (ms). Default 60000.
   */
  readonly lockTimeoutMs?: number
}

/** What {@link applyMigrations} did. */
export interface MigrationReport {
  /** Migrations applied by this call, in order. */
  readonly applied: string[]
  /** Migrations found already applied (by an earlier call or by `prisma migrate deploy`). */
  readonly alreadyApplied: string[]
}

interface Migration {
  readonly name: string
  readonly sql: string
  /** SHA-256 of the file, hex: what Prisma records as `checksum`. */
  readonly checksum: string
}

/**
 * Brings the database schema up to date with the committed migrations, offline and without
 * the Prisma CLI: each pending `migration.sql` runs in its own transaction (a failure leaves
 * nothing of it behind and is retried by the next call) and is recorded in Prisma's
 * `_prisma_migrations` table with Prisma's checksum, so `prisma migrate deploy` and
 * `prisma migrate status` agree with it. Idempotent, and safe to call from many processes at
 * once: it holds the same PostgreSQL advisory lock as `prisma migrate deploy`. With `schema`, the
 * schema is created when missing and the tables go into it. Rejects with `CONFIG_INVALID` for a
 * bad connection string or schema name, and `INTERNAL` (the PostgreSQL error as `cause`) when
 * the database cannot be reached, the lock is not granted within `lockTimeoutMs`, a migration
 * fails, or `prisma migrate deploy` left a failed migration that needs `prisma migrate resolve`.
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<MigrationReport> {
  const { connectionString, schema } = resolvePostgresConnection(options)
  const lockTimeoutMs = options.lockTimeoutMs ?? 60_000
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new SwitchboardError('CONFIG_INVALID', `lockTimeoutMs must be a non-negative integer (ms), got ${String(lockTimeoutMs)}.`)
  }
  const migrations = await readMigrations(options.migrationsDir ?? MIGRATIONS_DIR)
  const client = new pg.Client({ connectionString })
  // Errors of an idle client would otherwise crash the process; failed queries still reject.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw new SwitchboardError('INTERNAL', 'Cannot connect to PostgreSQL to apply migrations.', { cause: error })
  }
  try {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${lockTimeoutMs}ms`])
    await run(client, `SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK})`, 'Waiting for the migration lock failed.')
    try {
      return await applyPending(client, schema, migrations)
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_LOCK})`).catch(() => {})
    }
  } finally {
    await client.end().catch(() => {})
  }
}

/** Applies, under the lock, the migrations `_prisma_migrations` does not list as finished. */
async function applyPending(client: pg.Client, schema: string | undefined, migrations: Migration[]): Promise<MigrationReport> {
  if (schema !== undefined) {
    await run(client, `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`, `Creating schema ${schema} failed.`)
    await run(client, `SET search_path TO ${quoteIdentifier(schema)}`, `Selecting schema ${schema} failed.`)
  }
  await run(client, CREATE_MIGRATIONS_TABLE, 'Creating the _prisma_migrations table failed.')
  const { rows } = await client.query<{ migration_name: string; finished: boolean }>(
    `SELECT migration_name, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
  )
  const report: MigrationReport = { applied: [], alreadyApplied: [] }
  for (const migration of migrations) {
    const records = rows.filter((row) => row.migration_name === migration.name)
    if (records.some((row) => row.finished)) {
      report.alreadyApplied.push(migration.name)
      continue
    }
    if (records.length > 0) {
      throw new SwitchboardError(
        'INTERNAL',
        `Migration ${migration.name} failed earlier under prisma migrate deploy; mark it with prisma migrate resolve first.`,
      )
    }
    await applyOne(client, migration)
    report.applied.push(migration.name)
  }
  return report
}

/** Runs one migration and its bookkeeping row in one transaction. */
async function applyOne(client: pg.Client, migration: Migration): Promise<void> {
  try {
    await client.query('BEGIN')
    const id = randomUUID()
    await client.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`, [
      id,
      migration.checksum,
      migration.name,
    ])
    await client.query(migration.sql)
    await client.query(`UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id])
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw new SwitchboardError('INTERNAL', `Migration ${migration.name} failed; nothing of it was applied.`, { cause: error })
  }
}

/** Runs `sql`, wrapping a failure as `INTERNAL` with `message`. */
async function run(client: pg.Client, sql: string, message: string): Promise<void> {
  try {
    await client.query(sql)
  } catch (error) {
    throw new SwitchboardError('INTERNAL', message, { cause: error })
  }
}

/** The `<name>/migration.sql` files of `dir`, in name order (Prisma's timestamps sort by date). */
async function readMigrations(dir: string): Promise<Migration[]> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new SwitchboardError('CONFIG_INVALID', `migrationsDir ${dir} cannot be read.`, { cause: error })
  }
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name)
  names.sort()
  const migrations: Migration[] = []
  for (const name of names) {
    const file = await readFile(join(dir, name, 'migration.sql')).catch(() => undefined)
    if (file === undefined) continue
    migrations.push({ name, sql: file.toString('utf8'), checksum: createHash('sha256').update(file).digest('hex') })
  }
  return migrations
}
