import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { createLogger, createSwitchboard, isSwitchboardError } from '@switchboard/core'
import { channels } from './channels/index.js'
import { loadAppConfig } from './config.js'
import { createHttpHandler } from './http-routes.js'
import { startEmbeddedPostgres } from './services/embedded-postgres.js'
import { buildEngines } from './services/engines.js'
import { ensureRedis } from './services/redis-server.js'

/** The repository's `.data/` folder, where the embedded PostgreSQL keeps its files. */
const DATA_DIR = fileURLToPath(new URL('../../.data', import.meta.url))

/**
 * Starts one node: PostgreSQL (embedded unless `DATABASE_URL` is set) with migrations applied,
 * Redis (started when nothing answers locally), the HTTP routes and the WebSocket endpoint on
 * `PORT`. SIGTERM/SIGINT: close every client with 1001, finish in-flight work, close engines,
 * exit 0.
 */
async function main(): Promise<void> {
  const config = loadAppConfig()
  const logger = createLogger()
  for (const warning of config.warnings) logger.warn(warning)
  const postgres = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: DATA_DIR, port: config.embeddedPostgresPort, logger })
  const redis = await ensureRedis(config.redisUrl, logger)
  const nodeId = config.switchboard.nodeId ?? `${(await import('node:os')).hostname()}-${process.pid}`
  const built = await buildEngines({
    databaseUrl: config.databaseUrl ?? postgres!.url,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    nodeId,
    logger,
  })
  const switchboard = createSwitchboard({ ...config.switchboard, nodeId, channels, engines: built.engines, logger })
  const server = createServer(createHttpHandler(switchboard))
  switchboard.attach(server)
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

main().catch(err => {
  // Configuration and start-up errors: one line, no stack trace.
  const message = isSwitchboardError(err) ? err.message : err instanceof Error ? err.message : String(err)
  process.stderr.write(`switchboard: ${message}\n`)
  process.exit(1)
})
