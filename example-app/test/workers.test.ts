import { once } from 'node:events'
import t from 'tap'
import { signDevToken } from '@switchboard/core'
import { TestClient } from '@switchboard/core/testing'
import { DEV_JWT_SECRET } from '../src/config.js'
import { freshDatabase, redisPrefix, startApp } from './helpers/app-process.js'

// SWITCHBOARD_WORKERS=2: one primary and two worker nodes sharing the port through node:cluster,
// on the same PostgreSQL and Redis; one service.

t.test('example app › SWITCHBOARD_WORKERS=2 runs two nodes on one port that share conversations', async t => {
  const app = await startApp({ DATABASE_URL: await freshDatabase(t), SWITCHBOARD_REDIS_PREFIX: redisPrefix(t), SWITCHBOARD_WORKERS: '2' })
  t.teardown(() => void app.child.kill('SIGKILL'))
  await app.until(/switchboard listening/, 2)
  const url = `ws://127.0.0.1:${app.port}/ws`
  t.equal((app.output().match(/database migrations applied/g) ?? []).length, 1, 'migrations are applied once, by the primary')

  // Connections are spread over the workers: open them until both node ids were seen.
  const byNode = new Map<string, TestClient>()
  const opened: TestClient[] = []
  t.teardown(() => Promise.all(opened.map(client => client.close().catch(() => undefined))).then(() => undefined))
  for (let i = 0; byNode.size < 2; i++) {
    if (i === 20) throw new Error(`20 connections all reached ${[...byNode.keys()].join(', ')}`)
    const { client, connected } = await TestClient.connect(url, await signDevToken(DEV_JWT_SECRET, `user${i}`))
    opened.push(client)
    if (!byNode.has(connected.node as string)) byNode.set(connected.node as string, client)
  }
  const [[nodeA, subscriber], [nodeB, publisher]] = [...byNode.entries()] as [[string, TestClient], [string, TestClient]]
  t.match(nodeA, /-w[12]$/, `first worker node id ${nodeA}`)
  t.match(nodeB, /-w[12]$/, `second worker node id ${nodeB}`)
  t.not(nodeA, nodeB)

  t.equal((await subscriber.request({ type: 'subscribe', channel: 'room:lobby' })).type, 'subscribed')
  const published = await publisher.request({ type: 'publish', channel: 'room:lobby', data: { text: 'across workers' } })
  t.equal(published.type, 'published', `published on ${nodeB}`)
  const message = await subscriber.next(f => f.type === 'message' && f.mid === published.mid, 'the message on the other worker', true)
  t.match(message, { channel: 'room:lobby', seq: published.seq, data: { text: 'across workers' } }, `received on ${nodeA}`)

  const exited = once(app.child, 'exit')
  app.child.kill('SIGTERM')
  const closes = await Promise.all(opened.map(client => client.waitClosed()))
  t.ok(closes.every(close => close.code === 1001), 'SIGTERM to the primary closes every client of every worker with 1001')
  const [code] = await exited
  t.equal(code, 0, 'the primary exits 0 after its workers')
})
