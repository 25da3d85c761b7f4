import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryPresence } from '../../src/engines/memory/memory-presence.js'
import { PreparedFrame } from '../../src/protocol/prepared-frame.js'
import { TestClient } from '../../src/testing/test-client.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { signDevToken } from '../../src/auth/token-verifier.js'
import { MemoryBroker } from '../../src/engines/memory/memory-broker.js'
import { defineChannel } from '../../src/channels/define-channel.js'
import { z } from 'zod'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Waits are bounded generously: this test shares a loaded 2-core machine with others. */
const WAIT_MS = 60_000
const TOTAL = 10_000
const BATCH = 500
/** How each batch's connections end: count per way. */
const WAYS = { close: 160, terminate: 160, heartbeat: 120, slow: 20, authTimeout: 20, unauthorized: 20 } as const
type Way = keyof typeof WAYS

const bigFrame = PreparedFrame.fromJson(
  JSON.stringify({ type: 'message', channel: 'test:flood', seq: 1, epoch: 'e', mid: 'm', from: 'x', data: 'y'.repeat(32_000), ts: 0 }),
)

t.test(`cleanup › ${TOTAL} connections opened and dropped in every way leave nothing behind`, async t => {
  const presence = new MemoryPresence()
  const broker = new MemoryBroker()
  const everyone = { subscribe: () => true, publish: () => true }
  const channels = [
    defineChannel({ pattern: 'test:{room}', schema: z.strictObject({}), presence: true, persist: false, authorize: everyone }),
    defineChannel({
      pattern: 'flood:{id}',
      schema: z.strictObject({}),
      persist: false,
      authorize: everyone,
      onPublish: ({ session }) => {
        for (let i = 0; i < 10_000 && session?.sendPrepared(bigFrame); i++);
      },
    }),
  ]
  const server = await startTestServer({
    heartbeatMs: 300, // short, so heartbeat victims go quickly; not so short that a busy event loop starves live pongs
    authTimeoutMs: 1_000,
    closeTimeoutMs: 100,
    maxBufferedBytes: 64 * 1024,
    handshakeRatePerSecond: 0,
    channels,
    engines: { presence, broker },
  })
  t.teardown(() => server.close())
  const connects = new Map<string, number>()
  const disconnects = new Map<string, number>()
  const reasons: Record<string, number> = {}
  let ended = 0
  let notify: (() => void) | undefined
  server.switchboard.addHook('onConnect', session => {
    connects.set(session.id, (connects.get(session.id) ?? 0) + 1)
  })
  server.switchboard.addHook('onDisconnect', (session, info) => {
    disconnects.set(session.id, (disconnects.get(session.id) ?? 0) + 1)
    reasons[info.reason] = (reasons[info.reason] ?? 0) + 1
  })
  const closedSockets = { count: 0 }
  const token = await server.token('user')
  const badToken = await signDevToken('not-the-secret', 'user')

  /** Resolvers for connections whose end only the server can see (a paused client reads nothing). */
  const serverSideEnd = new Map<string, () => void>()
  server.switchboard.addHook('onDisconnect', session => serverSideEnd.get(session.user)?.())

  async function runOne(way: Way, i: number): Promise<void> {
    const user = way === 'slow' ? `slow${i}` : `u${i % 50}`
    if (way === 'authTimeout') {
      const client = await TestClient.open(server.url, { timeoutMs: WAIT_MS })
      await client.waitClosed()
      return
    }
    if (way === 'unauthorized') {
      const client = await TestClient.open(server.url, { timeoutMs: WAIT_MS })
      await client.request({ type: 'connect', token: badToken })
      await client.waitClosed()
      return
    }
    const client =
      way === 'heartbeat'
        ? await server.connect(user, { ws: { autoPong: false }, timeoutMs: WAIT_MS })
        : (await TestClient.connect(server.url, user === 'u0' ? token : await server.token(user), { timeoutMs: WAIT_MS })).client
    if (way === 'heartbeat') {
      // Such a peer may be reaped before any reply on a loaded machine, so wait for nothing but the end.
      client.send({ type: 'subscribe', id: 2, channel: `test:room${i % 7}` })
      await client.waitClosed()
      return
    }
    await client.request({ type: 'subscribe', channel: `test:room${i % 7}` })
    switch (way) {
      case 'close':
        await client.close()
        return
      case 'terminate':
        client.terminate()
        return
      case 'slow': {
        const ended = new Promise<void>(resolve => serverSideEnd.set(user, resolve))
        ;(client.socket as unknown as { _socket: { pause(): void } })._socket.pause()
        client.send({ type: 'publish', id: 99, channel: 'flood:1', data: {} })
        await ended
        serverSideEnd.delete(user)
        client.terminate()
        return
      }
    }
  }

  async function runBatch(batch: number): Promise<void> {
    const target = ended + Object.values(WAYS).reduce((a, b) => a + b, 0) - WAYS.authTimeout - WAYS.unauthorized
    const allEnded = new Promise<void>(resolve => {
      notify = () => {
        if (ended >= target) resolve()
      }
    })
    const jobs: Promise<void>[] = []
    let i = batch * BATCH
    for (const [way, count] of Object.entries(WAYS) as [Way, number][]) {
      for (let k = 0; k < count; k++) jobs.push(runOne(way, i++))
    }
    await Promise.all(jobs)
    notify?.()
    await allEnded
    closedSockets.count += BATCH
  }
  server.switchboard.addHook('onDisconnect', () => {
    ended += 1
    notify?.()
  })

  await runBatch(0)
  gc()
  const baseline = process.memoryUsage().heapUsed
  for (let batch = 1; batch < TOTAL / BATCH; batch++) await runBatch(batch)
  while (server.switchboard.connectionCount > 0) await new Promise(resolve => setImmediate(resolve))
  gc()
  const after = process.memoryUsage().heapUsed

  const authenticated = (TOTAL / BATCH) * (BATCH - WAYS.authTimeout - WAYS.unauthorized)
  t.equal(closedSockets.count, TOTAL, 'every connection was opened and dropped')
  t.equal(connects.size, authenticated, 'onConnect ran for every authenticated connection')
  t.ok([...connects.values()].every(n => n === 1), 'onConnect ran once per connection')
  t.equal(disconnects.size, authenticated, 'onDisconnect ran for every authenticated connection')
  t.ok([...disconnects.values()].every(n => n === 1), 'onDisconnect ran exactly once per connection')
  t.equal(server.switchboard.connectionCount, 0, 'the connection map is empty')
  t.same([...server.switchboard.sessions()], [], 'no session is left')
  t.same(presence.counts(), { channels: 0, members: 0, connections: 0 }, 'presence is empty')
  t.same(broker.channels(), ['$control'], 'the node holds no broker subscription but the cluster control channel')
  const batches = TOTAL / BATCH
  t.equal(reasons['client-close'], WAYS.close * batches)
  t.equal(reasons['heartbeat-timeout'], WAYS.heartbeat * batches)
  t.equal(reasons['slow-consumer'], WAYS.slow * batches)
  t.equal((reasons['socket-error'] ?? 0) + (reasons['client-close'] ?? 0) - WAYS.close * batches, WAYS.terminate * batches, 'terminated sockets')
  const growthMb = (after - baseline) / 1024 / 1024
  t.comment(`heap after warm-up ${(baseline / 1048576).toFixed(1)} MB, after ${TOTAL} connections ${(after / 1048576).toFixed(1)} MB`)
  t.ok(growthMb < 8, `heap returned near its baseline (grew ${growthMb.toFixed(2)} MB)`)
})
