import { applyMigrations, createPrismaClient, PrismaMessageStore } from '@switchboard/core/prisma'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'

/** The PostgreSQL the tests use: `SWITCHBOARD_TEST_DATABASE_URL`, or the local server's `postgres` database. */
export const TEST_DATABASE_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** Creates a random schema (`sb_client_…`) with every migration applied; drops it when `t` ends. */
export async function migratedSchema(t: Test): Promise<string> {
  const schema = `sb_client_${randomBytes(6).toString('hex')}`
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await client.connect()
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    } finally {
      await client.end()
    }
  })
  await applyMigrations({ connectionString: TEST_DATABASE_URL, schema })
  return schema
}

/** A PrismaMessageStore on `schema` (as a restarted process would open it); the node that uses it closes it. */
export function prismaStore(schema: string): PrismaMessageStore {
  return new PrismaMessageStore({ client: createPrismaClient({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 }) })
}
