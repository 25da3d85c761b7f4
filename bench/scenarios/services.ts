import { readStat } from '../lib/proc-stat.js'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { applyMigrations } from '@switchboard/core/prisma'

/** The local PostgreSQL the benchmarks use (`BENCH_DATABASE_URL`, default database `test`, trust auth). */
export const DATABASE_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test'

/** The local Redis the two-node scenario uses (`BENCH_REDIS_URL`). */
export const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

const created = new Set<string>()

/**
 * Creates a schema of its own (`bench_<pid>_<random>`) with every committed migration applied
 * (as core/test/helpers/postgres-schema.ts does) and resolves with its name. Drop it with
 * {@link dropSchema}; {@link dropCreatedSchemas} drops every one still there.
 */
export async function createSchema(): Promise<string> {
  const schema = `bench_${process.pid}_${randomBytes(4).toString('hex')}`
  created.add(schema)
  await applyMigrations({ connectionString: DATABASE_URL, schema })
  return schema
}

/** Runs `text` on a short-lived connection. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], schema?: string): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: DATABASE_URL, ...(schema ? { options: `-c search_path=${schema}` } : {}) })
  await client.connect()
  try {
    return await client.query<T>(text, values)
  } finally {
    await client.end()
  }
}

/** Drops `schema` and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  created.delete(schema)
}

/** Drops every schema {@link createSchema} made that is still there (end of run, or failure). */
export async function dropCreatedSchemas(): Promise<void> {
  for (const schema of [...created]) await dropSchema(schema).catch(() => {})
}

/** A fresh Redis key prefix for one run (`bench-<random>`). */
export function redisPrefix(): string {
  return `bench-${randomBytes(4).toString('hex')}`
}

/** Deletes every Redis key under `prefix` (`<prefix>:*`). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/**
 * The pid of the PostgreSQL server's postmaster (the parent of this connection's backend), for
 * reading the CPU of the whole server (its tree); undefined when it is not on this machine.
 */
export async function postgresServerPid(): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  try {
    await client.connect()
    // Read while connected: the backend exits with its connection.
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    const backend = rows[0]?.pid
    const postmaster = backend === undefined ? undefined : readStat(backend)?.ppid
    return postmaster !== undefined && postmaster > 1 ? postmaster : undefined
  } catch {
    return undefined
  } finally {
    await client.end().catch(() => {})
  }
}

/** The pid of the Redis server (from `INFO server`), for reading its CPU; undefined when unknown. */
export async function redisServerPid(): Promise<number | undefined> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const info = await redis.info('server')
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
    return Number.isInteger(pid) ? pid : undefined
  } catch {
    return undefined
  } finally {
    redis.disconnect()
  }
}
