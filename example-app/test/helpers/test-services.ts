import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { Test } from 'tap'

/** The PostgreSQL the tests use (each test file in a schema of its own). */
export const ADMIN_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
/** The Redis the tests use (each test file under a key prefix of its own). */
export const REDIS_URL = process.env['SWITCHBOARD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** A PostgreSQL schema of one test file. */
export interface TestSchema {
  readonly name: string
  /** {@link ADMIN_URL} with `?schema=<name>`: the app creates and migrates the schema on start. */
  readonly url: string
  /** Runs SQL with the schema as `search_path`. */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>
  /** Drops the schema and everything in it (idempotent). */
  drop(): Promise<void>
}

/** A fresh schema name and its URL (nothing is created until an app starts on it). */
export function testSchema(): TestSchema {
  const name = `sb_app_${randomBytes(5).toString('hex')}`
  const url = new URL(ADMIN_URL)
  url.searchParams.set('schema', name)
  return {
    name,
    url: url.toString(),
    sql: (text, values = []) => adminSql(text, values, name),
    drop: async () => void (await adminSql(`DROP SCHEMA IF EXISTS "${name}" CASCADE`, [])),
  }
}

/** A fresh Redis key prefix (`sbtest<hex>`). */
export function testPrefix(): string {
  return `sbtest${randomBytes(4).toString('hex')}`
}

/** Deletes every Redis key under `prefix`. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      if (keys.length) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** A schema and a prefix for one test file, dropped and deleted when `t` ends (after `before`, e.g. stopping the nodes). */
export function testServices(t: Test, before: () => Promise<unknown> = async () => {}): { schema: TestSchema; prefix: string } {
  const schema = testSchema()
  const prefix = testPrefix()
  t.teardown(async () => {
    await before()
    await schema.drop()
    await deleteRedisKeys(prefix)
  })
  return { schema, prefix }
}

async function adminSql(text: string, values: unknown[], schema?: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: ADMIN_URL, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) })
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}
