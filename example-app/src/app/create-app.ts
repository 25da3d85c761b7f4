import {
  ChannelRegistry,
  createJwtVerifier,
  createSwitchboard,
  type Engines,
  type Logger,
  type Switchboard,
  type SwitchboardOptionsInput,
} from '@switchboard/core'
import { createPrismaClient, disconnectPrismaClient } from '@switchboard/core/prisma'
import { devTokenRoutes } from '../api/dev-token-routes.js'
import { historyRoutes } from '../api/history-routes.js'
import { metricsRoutes } from '../api/metrics-routes.js'
import { roomRoutes } from '../api/room-routes.js'
import { webRoutes } from '../api/web-routes.js'
import { createRouteHandler, type RouteHandler } from '../api/route-handler.js'
import { channels } from '../channels/index.js'
import { setMemberships } from '../memberships.js'
import { PrismaMemberships } from '../rooms/prisma-memberships.js'
import { RoomDirectory } from '../rooms/room-directory.js'

/** Largest HTTP request body the API reads (bytes); larger ones get 413. */
export const MAX_BODY_BYTES = 16 * 1024

/** What {@link createApp} builds the chat app from. */
export interface AppOptions {
  /** The node's plain options (from the environment); `jwt` must name a secret or a JWKS URL. */
  readonly switchboard: SwitchboardOptionsInput
  /** The node's engines (services/engines.ts in production). */
  readonly engines: Partial<Engines>
  /** The PostgreSQL URL of rooms and memberships (`?schema=` selects a schema); the engines' database. */
  readonly databaseUrl: string
  readonly logger: Logger
  /** Where `NODE_ENV` is read: `production` turns `POST /api/dev/token` off. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
}

/** The chat app on one node. */
export interface App {
  /** The node: attach it to the HTTP server; `close()` also closes the app's database pool. */
  readonly switchboard: Switchboard
  /** The app's HTTP routes (EXAMPLE-APP.md, "HTTP"), for `createHttpHandler`. */
  readonly routes: RouteHandler
  /** Rooms in PostgreSQL. */
  readonly rooms: RoomDirectory
}

/**
 * Builds the chat app on one node: its channels (room, dm, user inbox, typing) with room
 * memberships in PostgreSQL, the lobby's row, `@name` mention notifications, the HTTP API and
 * the chat page.
 * The node serves nothing until attached to a server. Its `close()` also ends the app's own
 * PostgreSQL pool (in its `onClose` hook, before the engines close).
 * @throws SwitchboardError `CONFIG_INVALID` for bad options; rejects when PostgreSQL cannot be reached.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { logger } = options
  const jwt = options.switchboard.jwt ?? {}
  const verify = createJwtVerifier(jwt)
  const prisma = createPrismaClient({
    connectionString: options.databaseUrl,
    maxConnections: 5,
    onConnectionError: err => logger.warn({ err }, 'postgres (rooms) connection error'),
  })
  const rooms = new RoomDirectory(prisma)
  let switchboard: Switchboard
  try {
    await rooms.ensureLobby()
    switchboard = createSwitchboard({ ...options.switchboard, channels, engines: options.engines, logger, authenticate: verify })
  } catch (error) {
    await disconnectPrismaClient(prisma).catch(() => {})
    throw error
  }
  setMemberships(new PrismaMemberships(prisma))
  switchboard.addHook('onClose', () => disconnectPrismaClient(prisma))

  const production = (options.env ?? process.env)['NODE_ENV'] === 'production'
  const routes = createRouteHandler(
    [
      ...(production || jwt.secret === undefined ? [] : devTokenRoutes({ secret: jwt.secret, maxBodyBytes: MAX_BODY_BYTES })),
      ...roomRoutes({ rooms, verify, maxBodyBytes: MAX_BODY_BYTES }),
      ...historyRoutes({ registry: new ChannelRegistry(channels), store: () => switchboard.engines.store, verify }),
      ...metricsRoutes(switchboard),
      // The chat page at / (its script rebuilt on edits outside production).
      ...webRoutes({ watch: !production }),
    ],
    logger,
  )
  return { switchboard, routes, rooms }
}
