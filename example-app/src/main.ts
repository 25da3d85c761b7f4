import cluster from 'node:cluster'
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createLogger, httpServerOptions, isSwitchboardError, type Switchboard } from '@switchboard/core'
import { createApp } from './app/create-app.js'
import { loadAppConfig } from './config.js'
import { createHttpHandler } from './http-routes.js'
import { startEmbeddedPostgres } from './services/embedded-postgres.js'
import { buildEngines } from './services/engines.js'
import { ensureRedis } from './services/redis-server.js'
import { runPrimary, WORKER_ENV } from './workers.js'

/** The repository's `.data/` folder, where the embedded PostgreSQL keeps its files. */
const DATA_DIR = fileURLToPath(new URL('../../.data', import.meta.url))

/**
 * Starts one node: PostgreSQL (embedded unless `DATABASE_URL` is set) with migrations applied,
 * Redis (started when nothing answers locally), the HTTP routes and the WebSocket endpoint on
 * `PORT`. SIGTERM/SIGINT: close every client with 1001, finish in-flight work, close engines,
 * exit 0. With `SWITCHBOARD_WORKERS` above 1 this process is the cluster primary instead: it
 * starts the services and migrations once and forks that many worker nodes sharing `PORT`.
 */
async function main(): Promise<void> {
  const config = loadAppConfig()
  const logger = createLogger()
  const isWorker = cluster.isWorker && process.env[WORKER_ENV] === '1'
  if (!isWorker) for (const warning of config.warnings) logger.warn(warning)
  const postgres = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: DATA_DIR, port: config.embeddedPostgresPort, logger })
  const redis = isWorker ? { stop: async () => {} } : await ensureRedis(config.redisUrl, logger)
  const nodeId = config.switchboard.nodeId ?? `${hostname()}-${process.pid}`
  const databaseUrl = config.databaseUrl ?? postgres!.url
  if (config.workers > 1 && cluster.isPrimary) {
    await applyMigrationsOnce(databaseUrl, logger)
    await runPrimary(config.workers, { databaseUrl, nodeIdBase: nodeId }, logger, async () => {
      await redis.stop()
      await postgres?.stop()
    })
    logger.info('stopped')
    process.exit(0)
  }
  const built = await buildEngines({
    databaseUrl,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    nodeId,
    presenceTtlMs: config.presenceTtlMs,
    migrate: !isWorker,
    logger,
  })
  const app = await createApp({
    switchboard: { ...config.switchboard, nodeId },
    engines: built.engines,
    databaseUrl: config.databaseUrl ?? postgres!.url,
    logger,
  })
  const switchboard = app.switchboard
  const server = createServer(httpServerOptions(switchboard.options), createHttpHandler(switchboard, app.routes))
  switchboard.attach(server)
  await untilReady(switchboard, logger)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  logger.info({ port, node: nodeId }, `switchboard listening on http://localhost:${port} (WebSocket at ${switchboard.options.path})`)

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const forced = setTimeout(() => {
      logger.error('shutdown budget exceeded; exiting')
      process.exit(1)
    }, switchboard.options.shutdownMs + 5000)
    forced.unref()
    await switchboard.close()
    await built.close()
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
    await redis.stop()
    await postgres?.stop()
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

/** How long start-up waits for the engines to connect before listening anyway (ms). */
const READY_WAIT_MS = 15_000

/**
 * Waits until the node's engines are connected (so `/readyz` says ready from the first
 * request); past {@link READY_WAIT_MS} it logs which checks fail and goes on (`/readyz` then
 * says 503 until they pass).
 */
async function untilReady(switchboard: Switchboard, logger: ReturnType<typeof createLogger>): Promise<void> {
  const deadline = Date.now() + READY_WAIT_MS
  for (;;) {
    const readiness = await switchboard.readiness()
    if (readiness.ready) return
    if (Date.now() > deadline) {
      logger.warn({ checks: readiness.checks }, 'engines not ready yet; listening anyway (/readyz says 503 until they are)')
      return
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Applies the migrations in the cluster primary, so workers start on an up-to-date schema. */
async function applyMigrationsOnce(databaseUrl: string, logger: ReturnType<typeof createLogger>): Promise<void> {
  const { applyMigrations } = await import('@switchboard/core/prisma')
  const report = await applyMigrations({ connectionString: databaseUrl })
  if (report.applied.length > 0) logger.info({ applied: report.applied }, 'database migrations applied')
}

main().catch(err => {
  // Configuration and start-up errors: one line, no stack trace.
  const message = isSwitchboardError(err) ? err.message : err instanceof Error ? err.message : String(err)
  process.stderr.write(`switchboard: ${message}\n`)
  process.exit(1)
})
