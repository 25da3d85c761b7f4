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
 * One connection of its own in `pg`'s pipeline mode: each statement is sent at once, even while
 * earlier ones run, and PostgreSQL runs them one after another in the order sent, each its own
 * transaction that commits before the next starts. Opened on the first statement, with the
 * pool's settings (so the same `search_path`); when it fails or the server closes it, the
 * statements sent on it reject with the driver's error and the next statement opens a new one.
 * Statements are named (prepared) as in {@link rawSqlOf}.
 */
export interface PipelinedSql {
  /**
   * Sends `query` now when the connection is open (in call order otherwise, once it is) and
   * resolves with its rows and row count.
   */
  query(query: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number }>
  /**
   * Gives up the connection: its server process is terminated (through the pool), so what it
   * runs rolls back and what waits behind it never runs; every statement sent on it rejects,
   * and the next statement opens a new connection. For a statement past its deadline.
   */
  abandon(): Promise<void>
  /** Ends the connection; later statements reject. Idempotent. */
  close(): Promise<void>
}

/**
 * A {@link PipelinedSql} on the server and database of `client`'s pool, for a client from
 * {@link createPrismaClient}; `undefined` for any other client. The caller owns it and closes it.
 */
export function openPipelinedSql(client: PrismaClient): PipelinedSql | undefined {
  const pool = pools.get(client)
  if (pool === undefined) return undefined
  return new PipelinedConnection((pool.options as { connectionString: string }).connectionString, pool)
}

/** A connection of {@link PipelinedConnection}: `open` once `ready` has resolved. */
interface PipelineState {
  readonly connection: pg.Client
  ready: Promise<void>
  open: boolean
}

/** The {@link PipelinedSql} of {@link openPipelinedSql}. */
class PipelinedConnection implements PipelinedSql {
  /** The connection statements go to: open, or being opened. */
  #current: PipelineState | undefined
  #closed = false

  constructor(
    private readonly connectionString: string,
    private readonly pool: pg.Pool,
  ) {}

  query(query: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number }> {
    if (this.#closed) return Promise.reject(new Error('The pipelined connection is closed.'))
    const current = this.#current ?? this.#open()
    const send = async (): Promise<{ rows: unknown[]; rowCount: number }> => {
      const result = await current.connection.query(named(query, values))
      return { rows: result.rows, rowCount: result.rowCount ?? 0 }
    }
    // Once open, sent in this very call, so statements leave in call order.
    return current.open ? send() : current.ready.then(send)
  }

  async abandon(): Promise<void> {
    const current = this.#current
    this.#current = undefined
    if (current === undefined) return
    const pid = (current.connection as unknown as { processID: number | null }).processID
    if (current.open && pid !== null) await this.pool.query('SELECT pg_terminate_backend($1)', [pid]).catch(() => {})
    await current.connection.end().catch(() => {})
  }

  async close(): Promise<void> {
    this.#closed = true
    const current = this.#current
    this.#current = undefined
    if (current === undefined) return
    await current.ready.catch(() => {})
    await current.connection.end().catch(() => {})
  }

  #open(): PipelineState {
    const connection = new pg.Client({ connectionString: this.connectionString, pipeline: true } as pg.ClientConfig)
    const current: PipelineState = { connection, ready: Promise.resolve(), open: false }
    const forget = (): void => {
      if (this.#current === current) this.#current = undefined
    }
    // Without a listener, an error of the connection would crash the process.
    connection.on('error', forget)
    connection.on('end', forget)
    current.ready = connection.connect().then(
      () => void (current.open = true),
      (error: unknown) => {
        forget()
        throw error
      },
    )
    this.#current = current
    return current
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
