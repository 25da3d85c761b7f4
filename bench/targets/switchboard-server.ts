/**
 * Switchboard under test: one node made with `createSwitchboard`, serving two channel
 * definitions — `room:{roomId}` (ephemeral broadcast) and `stored:{roomId}` (persisted) —
 * whose `data` is the benchmark body `{ t: number, p: string }` (a strict zod schema), open to
 * every authenticated user. Child process entry (see target.ts); configured by the
 * `BENCH_TARGET` environment variable ({@link SwitchboardTargetConfig} as JSON).
 *
 * Options differing from the defaults, so the load generator measures the send path rather
 * than the abuse limits: no per-connection publish rate limit (one publisher sends every
 * message of a fan-out step), no handshake rate limit (20,000 connections come from one IP).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import type { Engines } from '@switchboard/core'
import { writeHeapSnapshot } from 'node:v8'
import { memoryAfterGc, serveCommands } from '../lib/child.js'
import { BENCH_JWT_SECRET, type SwitchboardTargetConfig } from './target-config.js'

/**
 * `BENCH_CORE_DIR` points the node at another copy of core (a folder holding `src/`), to
 * measure a change to core side by side with the tree's (A/B runs); default the workspace's.
 */
const coreDir = process.env['BENCH_CORE_DIR']
const coreModule = (subpath: string, file: string): string => (coreDir ? pathToFileURL(`${coreDir}/src/${file}`).href : `@switchboard/core${subpath}`)
const { createSwitchboard, defineChannel, silentLogger } = (await import(coreModule('', 'index.ts'))) as typeof import('@switchboard/core')

const config = JSON.parse(process.env['BENCH_TARGET'] ?? '{"engines":"memory"}') as SwitchboardTargetConfig

const body = z.strictObject({ t: z.number(), p: z.string().max(4_096) })
const open = { subscribe: () => true, publish: () => true }
const channels = [
  defineChannel({ pattern: 'room:{roomId}', schema: body, persist: false, authorize: open }),
  defineChannel({ pattern: 'stored:{roomId}', schema: body, persist: true, authorize: open }),
]

/** The engines of the configured mode; `close` releases what the node does not close itself. */
async function makeEngines(): Promise<Partial<Engines>> {
  if (config.engines === 'prisma') {
    const { PrismaMessageStore, createPrismaClient } = (await import(coreModule('/prisma', 'engines/prisma/index.ts'))) as typeof import('@switchboard/core/prisma')
    const client = createPrismaClient({ connectionString: config.databaseUrl!, schema: config.schema! })
    return { store: new PrismaMessageStore({ client }) }
  }
  if (config.engines === 'redis') {
    const { RedisBroker, RedisSequencer } = (await import(coreModule('/redis', 'engines/redis/index.ts'))) as typeof import('@switchboard/core/redis')
    return {
      broker: new RedisBroker({ redis: config.redisUrl!, prefix: config.redisPrefix! }),
      sequencer: new RedisSequencer({ redis: config.redisUrl!, prefix: config.redisPrefix! }),
    }
  }
  return {}
}

const node = createSwitchboard({
  engines: await makeEngines(),
  channels,
  logger: silentLogger(),
  jwt: { secret: BENCH_JWT_SECRET },
  publishRatePerSecond: 1_000_000,
  publishBurst: 1_000_000,
  handshakeRatePerSecond: 0,
  maxConnections: 1_000_000,
  ...(config.heartbeatMs === undefined ? {} : { heartbeatMs: config.heartbeatMs }),
})

// Our own HTTP server, so that accept errors at the file limit (EMFILE) are counted, not fatal.
let acceptErrors = 0
const server = createServer((_req, res) => res.writeHead(404).end())
server.on('error', () => {
  acceptErrors += 1
})
node.attach(server)
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  serveCommands(
    { port, url: `ws://127.0.0.1:${port}/ws` },
    {
      mem: () => memoryAfterGc(),
      heapSnapshot: (args: { path: string }) => writeHeapSnapshot(args.path),
      connections: () => node.connectionCount,
      acceptErrors: () => acceptErrors,
    },
    async () => {
      await node.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  )
})
