import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { signDevToken, silentLogger, type SwitchboardOptionsInput } from '@switchboard/core'
import { TestClient } from '@switchboard/core/testing'
import type pg from 'pg'
import type { Test } from 'tap'
import { createApp, type App } from '../../src/app/create-app.js'
import { createHttpHandler } from '../../src/http-routes.js'
import { buildEngines } from '../../src/services/engines.js'
import { REDIS_URL, testServices } from './test-services.js'

/** The HS256 secret of the nodes the harness starts. */
export const SECRET = 'example-app-test-secret'

/** One app node listening on a free loopback port. */
export interface AppNode {
  readonly app: App
  /** `http://127.0.0.1:<port>` */
  readonly base: string
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string
  /** Opens a WebSocket and authenticates as `user` (a token from the harness's secret). */
  connect(user: string): Promise<TestClient>
  /** Closes the node as main.ts does on SIGTERM (idempotent). */
  close(): Promise<void>
}

/** An HTTP answer: status, headers and the body (parsed when JSON). */
export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly text: string
}

/** The services of one test file: a PostgreSQL schema, a Redis prefix, and the nodes started on them. */
export interface AppHarness {
  /** The database URL, `?schema=` included. */
  readonly databaseUrl: string
  readonly schema: string
  readonly prefix: string
  /** Starts one more node on the same schema and prefix (one service). */
  startNode(options?: { switchboard?: SwitchboardOptionsInput; env?: NodeJS.ProcessEnv }): Promise<AppNode>
  /** A token for `user` signed with {@link SECRET}. */
  token(user: string, expiresInSec?: number): Promise<string>
  /** Sends a request to `node`; `body` is sent as JSON unless it is a string. */
  http(node: AppNode, method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<HttpAnswer>
  /** Runs SQL in the harness's schema. */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>
}

/**
 * Real services for one test file: a fresh PostgreSQL schema (migrated by the first node, as
 * `npm start` does) and a random Redis prefix; nodes are the app as main.ts builds it
 * (`buildEngines` + `createApp` + `createHttpHandler`), in this process. When `t` ends every
 * node closes, the schema is dropped and the prefix's keys are deleted.
 */
export function appHarness(t: Test): AppHarness {
  const nodes: AppNode[] = []
  const { schema, prefix } = testServices(t, () => Promise.all(nodes.map(node => node.close())))
  const databaseUrl = schema.url
  const token = (user: string, expiresInSec = 3600): Promise<string> => signDevToken(SECRET, user, { expiresInSec })

  return {
    databaseUrl,
    schema: schema.name,
    prefix,
    token,
    async startNode(options = {}) {
      const logger = silentLogger()
      const nodeId = `test-node-${nodes.length + 1}`
      const built = await buildEngines({ databaseUrl, redisUrl: REDIS_URL, redisPrefix: prefix, nodeId, logger })
      const app = await createApp({
        switchboard: { nodeId, ...options.switchboard, jwt: { secret: SECRET } },
        engines: built.engines,
        databaseUrl,
        logger,
        env: options.env ?? {},
      })
      const server = createServer(createHttpHandler(app.switchboard, app.routes))
      app.switchboard.attach(server)
      const port = await listen(server)
      let closing: Promise<void> | undefined
      const node: AppNode = {
        app,
        base: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        async connect(user) {
          return (await TestClient.connect(node.wsUrl, await token(user))).client
        },
        close() {
          closing ??= (async () => {
            await app.switchboard.close()
            await built.close()
            server.closeAllConnections()
            await new Promise<void>(resolve => server.close(() => resolve()))
          })()
          return closing
        },
      }
      nodes.push(node)
      return node
    },
    async http(node, method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`
      let body: string | undefined
      if (options.body !== undefined) {
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
        headers['content-type'] ??= 'application/json'
      }
      const response = await fetch(`${node.base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
      const text = await response.text()
      let parsed: unknown = undefined
      if (response.headers.get('content-type')?.startsWith('application/json')) parsed = JSON.parse(text)
      return { status: response.status, headers: response.headers, body: parsed, text }
    },
    sql: (text, values = []) => schema.sql(text, values),
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return (server.address() as AddressInfo).port
}
