import t from 'tap'
import { WebSocket } from 'ws'
import { z } from 'zod'
import { defineChannel } from '../../src/channels/define-channel.js'
import { startTestServer } from '../../src/testing/test-server.js'
import type { TestClient } from '../../src/testing/test-client.js'
import { allChannels } from '../channels/fixtures/test-channels.js'
import { nextDisconnects } from '../helpers/events.js'
import { heapAfterGc, mib, sampleMemory, until } from './fixtures/memory.js'

/**
 * Floods through the real channel layer: a client that stops reading while messages pour in
 * (or while it pipelines requests with large replies) is closed with 4008 and the node's memory
 * stays bounded; a publish flood is refused with RATE_LIMITED, then closed with 4029, stores
 * nothing past the burst and limits nobody else. core/test/transport/backpressure.test.ts and
 * rate-limit.test.ts cover the same mechanisms with a scripted channel layer.
 */

const feed = defineChannel({
  pattern: 'feed:{id}',
  schema: z.strictObject({ text: z.string().max(20_000) }),
  persist: false,
  authorize: { subscribe: () => true, publish: () => true },
})

/** Stops reading from the socket: the kernel buffers fill, then the node's send buffer. */
function pause(client: TestClient): void {
  ;(client.socket as unknown as { _socket: { pause(): void } })._socket.pause()
}

t.test('floods › a paused subscriber is closed with 4008 while a live one gets everything; node memory bounded', async t => {
  const MAX_BUFFERED = 256 * 1024
  const server = await startTestServer({ channels: [...allChannels, feed], maxBufferedBytes: MAX_BUFFERED })
  t.teardown(() => server.close())
  const slow = await server.connect('slow')
  t.teardown(() => slow.terminate())
  await slow.request({ type: 'subscribe', channel: 'feed:1' })
  // The live reader counts messages without keeping them, so the test's own heap stays flat.
  const live = { count: 0, subscribed: false }
  const reader = new WebSocket(server.url, ['switchboard.v1.json'])
  t.teardown(() => reader.terminate())
  reader.on('message', data => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>
    if (frame.type === 'message') live.count++
    else if (frame.type === 'subscribed') live.subscribed = true
  })
  await new Promise(resolve => reader.once('open', resolve))
  reader.send(JSON.stringify({ type: 'connect', id: 1, token: await server.token('live') }))
  reader.send(JSON.stringify({ type: 'subscribe', id: 2, channel: 'feed:1' }))
  await until(() => live.subscribed, 'the live reader subscribed')
  const disconnected = nextDisconnects(server.switchboard)
  const slowSession = [...server.switchboard.sessions()].find(session => session.user === 'slow')!
  pause(slow)

  const TEXT = 'x'.repeat(8 * 1024)
  const MESSAGES = 1_500
  const before = heapAfterGc()
  const sampler = sampleMemory()
  const started = performance.now()
  let closedAfter: number | undefined
  let maxBuffered = 0
  const slowSocket = (slowSession as unknown as { socket: WebSocket }).socket
  // Paced by the live reader (20 in flight at most), so only the paused subscriber falls behind.
  for (let i = 0; i < MESSAGES; i++) {
    await server.switchboard.publish('feed:1', { text: TEXT })
    maxBuffered = Math.max(maxBuffered, slowSocket.bufferedAmount)
    if (closedAfter === undefined && slowSession.closed) closedAfter = i + 1
    if (i % 20 === 19) await until(() => live.count > i, 'the live reader kept up')
  }
  const peak = sampler.stop()
  const [info] = await disconnected
  t.equal(info?.reason, 'slow-consumer', `the paused subscriber was closed as a slow consumer after ${closedAfter} of ${MESSAGES} messages (${mib((closedAfter ?? 0) * TEXT.length)} sent its way)`)
  await until(() => live.count === MESSAGES, 'the live reader got every message')
  t.pass(`the live reader got all ${MESSAGES} messages (${mib(MESSAGES * TEXT.length)}) in ${(performance.now() - started).toFixed(0)} ms`)
  t.ok(maxBuffered <= MAX_BUFFERED + TEXT.length + 200, `the node buffered at most ${(maxBuffered / 1024).toFixed(0)} KiB for the paused subscriber (maxBufferedBytes ${MAX_BUFFERED / 1024} KiB + one frame); the rest of the ${mib((closedAfter ?? 0) * TEXT.length)} sat in kernel socket buffers`)
  t.ok(peak.heapUsed - before < 64 * 1024 * 1024, `node heap peak +${mib(peak.heapUsed - before)} before GC while ${mib(MESSAGES * TEXT.length)} went by`)
  const after = heapAfterGc()
  t.ok(after - before < 4 * 1024 * 1024, `heap after GC ${mib(after - before)} over before`)
  t.equal(server.switchboard.connectionCount, 1, 'only the live reader remains')
  t.match(await server.switchboard.metrics.registry.metrics(), /^switchboard_slow_consumer_closes_total 1$/m)
  // A paused peer never echoes the close, so the socket is terminated (1006); the node passes on the code it sent.
  t.equal(info?.code, 4008, 'onDisconnect reports the 4008 the node sent')
})

t.test('floods › a paused client pipelining requests with large replies is closed with 4008', async t => {
  const server = await startTestServer({ channels: allChannels, maxBufferedBytes: 128 * 1024 })
  t.teardown(() => server.close())
  for (let i = 0; i < 100; i++) await server.switchboard.publish('room:big', { text: 'y'.repeat(100) })
  const greedy = await server.connect('greedy')
  t.teardown(() => greedy.terminate())
  const disconnected = nextDisconnects(server.switchboard)
  pause(greedy)
  const before = heapAfterGc()
  const sampler = sampleMemory()
  // Each 60-byte request asks for ~20 KB of history: a 300-fold amplification.
  for (let i = 0; i < 900; i++) greedy.send({ type: 'history', id: i + 1, channel: 'room:big', limit: 100 })
  const [info] = await disconnected
  const peak = sampler.stop()
  t.equal(info?.reason, 'slow-consumer')
  t.ok(peak.heapUsed - before < 24 * 1024 * 1024, `node heap peak +${mib(peak.heapUsed - before)}`)
  t.equal(server.switchboard.connectionCount, 0)
})

t.test('floods › a publish flood gets RATE_LIMITED, then close 4029; nothing past the burst is stored; others are not limited', async t => {
  const server = await startTestServer({ channels: allChannels, publishRatePerSecond: 1, publishBurst: 5, rateLimitCloseAfter: 20 })
  t.teardown(() => server.close())
  const disconnected = nextDisconnects(server.switchboard)
  const flooder = await server.connect('mallory')
  const sameUser = await server.connect('mallory')
  const other = await server.connect('alice')
  const FLOOD = 200
  for (let i = 0; i < FLOOD; i++) flooder.send({ type: 'publish', id: i + 1, channel: 'room:flood', data: { text: `m${i}` } })
  t.match(await flooder.waitClosed(), { code: 4029 })
  t.match(await disconnected, [{ code: 4029, reason: 'rate-limited' }])
  const published = flooder.frames.filter(f => f.type === 'published').length
  const limited = flooder.frames.filter(f => f.type === 'error' && f.code === 'RATE_LIMITED').length
  // The burst's publishes are admitted on arrival but handled one at a time; when the whole flood
  // arrives in one read, the 4029 close comes first and drops them. Either way nothing past it goes through.
  t.ok(published <= 5, `${published} of the burst of 5 went through before the close`)
  t.ok(limited >= 19 && limited <= 20, `${limited} RATE_LIMITED before the close; ${FLOOD - published - limited} publishes never answered (closed)`)
  const history = await other.request({ type: 'history', channel: 'room:flood', limit: 100 })
  const stored = (history.messages as unknown[]).length
  t.ok(stored <= 5 && stored >= published, `${stored} stored: nothing past the burst, every answered one`)
  for (let i = 0; i < 5; i++) {
    t.match(await sameUser.request({ type: 'publish', channel: 'room:flood', data: { text: `ok${i}` } }), { type: 'published' }, 'the same user on another connection has its own budget')
  }
  t.match(await other.request({ type: 'publish', channel: 'room:flood', data: { text: 'fine' } }), { type: 'published' }, 'another user is not limited')
  await sameUser.close()
  await other.close()
})
