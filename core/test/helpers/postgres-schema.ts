import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import { applyMigrations } from '../../src/engines/prisma/migrate.js'

/** The PostgreSQL the Prisma tests use: `SWITCHBOARD_TEST_DATABASE_URL`, or the local server's `postgres` database. */
export const TEST_DATABASE_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** A fresh, random schema name (`sb_test_…`), so test files and runs never share tables. */
export function randomSchemaName(): string {
  return `sb_test_${randomBytes(6).toString('hex')}`
}

/** Runs `sql` (with `values`) on a short-lived connection to the test database. */
export async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

/**
 * Creates a random schema with every committed migration applied, and drops it (with
 * everything in it) when `t` ends. Resolves with its name.
 */
export async function migratedSchema(t: Test): Promise<string> {
  const schema = randomSchemaName()
  t.teardown(() => dropSchema(schema))
  await applyMigrations({ connectionString: TEST_DATABASE_URL, schema })
  return schema
}

/** Drops `schema` and everything in it, if it exists. */
export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}
