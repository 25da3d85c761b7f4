import { createServer } from 'node:http'
import { createLogger, createSwitchboard, isSwitchboardError } from '@switchboard/core'
import { channels } from './channels/index.js'
import { loadAppConfig } from './config.js'
import { createHttpHandler } from './http-routes.js'

/**
 * Starts one node: HTTP routes and the WebSocket endpoint on `PORT`, graceful shutdown on
 * SIGTERM/SIGINT (close every client with 1001, finish in-flight work, exit 0).
 */
async function main(): Promise<void> {
  const config = loadAppConfig()
  const logger = createLogger()
  for (const warning of config.warnings) logger.warn(warning)
  const switchboard = createSwitchboard({ ...config.switchboard, channels, logger })
  const server = createServer(createHttpHandler(switchboard))
  switchboard.attach(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  logger.info({ port, node: switchboard.options.nodeId }, `switchboard listening on http://localhost:${port} (WebSocket at ${switchboard.options.path})`)

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const forced = setTimeout(() => {
      logger.error('shutdown budget exceeded; exiting')
      process.exit(1)
    }, switchboard.options.shutdownMs + 1000)
    forced.unref()
    await switchboard.close()
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
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
