import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from './generated/client.js'
import { resolvePostgresConnection, type PostgresConnectionOptions } from './postgres-connection.js'
import type { RawSql } from './sql-rows.js'

/** The generated client's type, for code that passes a client around without importing `generated/`. */
export type { PrismaClient } from './generated/client.js'

/** Options of {@link createPrismaClient}. */
export interface CreatePrismaClientOptions extends PostgresConnectionOptions {
  /** Most connections the client's pool opens. Default 10 (`pg`'s default). */
  readonly maxConnections?: number
  /** Called with errors of idle pooled connections (e.g. the server restarted). Default: ignored, the pool reconnects. */
  readonly onConnectionError?: (error: Error) => void
}

/** For clients made here: resolves once every socket their pool opened has closed. */
const socketsClosed = new WeakMap<PrismaClient, () => Promise<void>>()

/**
 * Each distinct statement text's name, one for the whole process: every pooled connection
 * parses and plans a statement once (a prepared statement) instead of on every call, and a name
 * always stands for the same text, whichever store or pool uses it (`pg` refuses a name reused
 * for another text on one connection). The store's texts are a small fixed set.
 */
const statementNames = new Map<string, string>()

/** `text` with `values` as a named (prepared) statement. */
function named(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text)
  if (name === undefined) statementNames.set(text, (name = `switchboard_${statementNames.size + 1}`))
  return { name, text, values }
}

/** For clients made here: their `pg` pool, which the store's hot paths query directly. */
const pools = new WeakMap<PrismaClient, pg.Pool>()

/**
 * Creates a PrismaClient for Switchboard's schema that talks to PostgreSQL through
 * `@prisma/adapter-pg` (a `pg` pool; no native Prisma engine). With `schema`, every pooled
 * connection uses it as `search_path` and Prisma's model queries are qualified with it, which
 * lets tests run in a schema of their own. Connects lazily, on the first query; end it with
 * {@link disconnectPrismaClient} (or the store's `close()`). Throws `CONFIG_INVALID` for a
 * connection string that is not a PostgreSQL URL or a schema name that is not allowed.
 */
export function createPrismaClient(options: CreatePrismaClientOptions): PrismaClient {
  const { connectionString, schema } = resolvePostgresConnection(options)
  const pool = new pg.Pool({ connectionString, ...(options.maxConnections === undefined ? {} : { max: options.maxConnections }) })
  // Without a listener, an error of an idle connection would crash the process.
  pool.on('error', options.onConnectionError ?? (() => {}))
  releaseDeadConnections(pool)
  const ended = new Set<Promise<void>>()
  pool.on('connect', (connection) => {
    const closed: Promise<void> = new Promise((resolve) =>
      connection.once('end', () => {
        ended.delete(closed)
        resolve()
      }),
    )
    ended.add(closed)
  })
  const client = new PrismaClient({ adapter: new PrismaPg(pool, { ...(schema === undefined ? {} : { schema }), disposeExternalPool: true }) })
  socketsClosed.set(client, async () => void (await Promise.all(ended)))
  pools.set(client, pool)
  return client
}

/**
 * The raw-SQL surface of `client`: for a client from {@link createPrismaClient}, its `pg` pool
 * queried directly with named (prepared) statements (one round trip per statement, parsed and
 * planned once per connection, without the Prisma client's per-query work;
 * `int8` values come back as strings, which every reader converts with `toSafeNumber`); for any
 * other client, the client itself.
 */
export function rawSqlOf(client: PrismaClient): RawSql {
  const pool = pools.get(client)
  if (pool === undefined) return client
  return {
    $queryRawUnsafe: async <T>(query: string, ...values: unknown[]): Promise<T> => (await pool.query(named(query, values))).rows as T,
    $executeRawUnsafe: async (query: string, ...values: unknown[]): Promise<number> => (await pool.query(named(query, values))).rowCount ?? 0,
  }
}

/**
 * Gives back to `pool`, with its error (so the pool drops it), a connection that dies while
 * checked out. Prisma's transaction manager releases a transaction's connection only after its
 * `COMMIT` or `ROLLBACK` succeeded; when the server goes away mid-transaction (crash, restart,
 * killed backend) that statement fails and the connection would stay checked out for ever: each
 * such fault shrinks the pool for good (a pool of N is dead after N of them) and `pool.end()`,
 * so `$disconnect()`, never resolves. A later `release()` of that connection by its holder does
 * nothing.
 */
function releaseDeadConnections(pool: pg.Pool): void {
  const checkedOut = new WeakMap<pg.PoolClient, (error: Error) => void>()
  pool.on('acquire', (client) => {
    const onError = (error: Error): void => {
      if (checkedOut.get(client) !== onError) return
      checkedOut.delete(client)
      // The pool assigns `release` right after `acquire`; it is this checkout's by now.
      const release = client.release.bind(client)
      client.release = () => {}
      release(error)
    }
    checkedOut.set(client, onError)
    client.once('error', onError)
  })
  pool.on('release', (_error, client) => {
    const onError = checkedOut.get(client)
    if (onError === undefined) return
    checkedOut.delete(client)
    client.off('error', onError)
  })
}

/**
 * Disconnects `client` and, for a client from {@link createPrismaClient}, resolves only once
 * every socket of its pool has closed (`pg`'s pool ends before its sockets do), so no handle
 * outlives it. Other clients are just `$disconnect()`ed.
 */
export async function disconnectPrismaClient(client: PrismaClient): Promise<void> {
  await client.$disconnect()
  // Prisma ends the pool only when it used it itself; the store may have used only the pool.
  const pool = pools.get(client)
  if (pool !== undefined && !pool.ended) await pool.end()
  await socketsClosed.get(client)?.()
}
