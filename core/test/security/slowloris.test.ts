import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { connect, type Socket } from 'node:net'
import { silentLogger } from '../../src/observability/logger.js'
import { createSwitchboard } from '../../src/switchboard.js'
import { httpServerOptions } from '../../src/transport/http-server-options.js'
import { TestClient } from '../../src/testing/test-client.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { until } from './fixtures/memory.js'
import { encodeFrame, OPCODE, RawWebSocket } from './fixtures/raw-websocket.js'

/**
 * Slow and silent clients: upgrade requests dribbled a byte at a time and never finished,
 * sockets that upgrade and never send `connect` (or dribble half a frame), authenticated
 * sockets that dribble a frame and answer no ping, and the per-IP handshake limit against a
 * crowd of idle sockets. core/test/transport/connect.test.ts covers one silent socket (4009)
 * and core/test/transport/upgrade.test.ts one 429.
 */

/** An upgrade request for 127.0.0.1:`port` that never ends (a header keeps growing). */
const endlessRequest = (port: number): string =>
  `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nX-Slow: ${'a'.repeat(10_000)}`

/** A socket writing `text` one byte every `everyMs`; `ended` resolves with the first response line when the server closes it. */
function dribble(port: number, text: string, everyMs: number): { socket: Socket; sent: () => number; ended: Promise<{ afterMs: number; response: string }> } {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let at = 0
  let response = ''
  const started = Date.now()
  const timer = setInterval(() => {
    if (at < text.length && !socket.destroyed) socket.write(text[at++]!)
  }, everyMs)
  socket.on('data', chunk => (response += chunk.toString('latin1')))
  const ended = new Promise<{ afterMs: number; response: string }>(resolve =>
    socket.once('close', () => {
      clearInterval(timer)
      resolve({ afterMs: Date.now() - started, response: response.split('\r\n')[0] ?? '' })
    }),
  )
  return { socket, sent: () => at, ended }
}

t.test('slowloris › upgrade requests dribbled a byte at a time hold no WebSocket, no connection slot and no handshake budget', async t => {
  const server = await startTestServer({ handshakeRatePerSecond: 1, handshakeBurst: 3, maxConnections: 3 })
  t.teardown(() => server.close())
  const dribblers = Array.from({ length: 50 }, () => dribble(server.port, endlessRequest(server.port), 10))
  t.teardown(() => dribblers.forEach(d => d.socket.destroy()))
  await until(() => dribblers.every(d => d.sent() > 20), 'every dribbler sent part of its request')
  t.equal(server.switchboard.connectionCount, 0, 'no WebSocket for an unfinished request')
  const clients = [await server.connect('a'), await server.connect('b'), await server.connect('c')]
  for (const client of clients) t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  t.pass(`3 clients connected (the whole handshake burst and every connection slot) while ${dribblers.length} requests dribbled`)
  for (const client of clients) await client.close()
})

t.test('slowloris › the listen() server cuts off an unfinished request with 408 after authTimeoutMs (at least 1 s)', async t => {
  const server = await startTestServer({ authTimeoutMs: 300 })
  t.teardown(() => server.close())
  const dribblers = Array.from({ length: 10 }, () => dribble(server.port, endlessRequest(server.port), 20))
  const ends = await Promise.all(dribblers.map(d => d.ended))
  const slowest = Math.max(...ends.map(e => e.afterMs))
  t.ok(ends.every(e => e.response.startsWith('HTTP/1.1 408')), `all answered ${ends[0]?.response}`)
  // httpServerOptions: headers and request within max(1000, authTimeoutMs), checked every second.
  t.ok(slowest < 1_000 + 1_000 + 3_000, `all cut off within ${slowest} ms (timeout 1000 ms, checked every 1000 ms, plus slack for a loaded machine)`)
})

t.test('slowloris › a server of your own given httpServerOptions (attach) cuts off a dribbled request with 408', async t => {
  const http = createServer({ ...httpServerOptions({ authTimeoutMs: 500 }), connectionsCheckingInterval: 100 })
  const switchboard = createSwitchboard({ logger: silentLogger(), jwt: { secret: 'slowloris-secret' } })
  switchboard.attach(http)
  await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    await switchboard.close()
    http.closeAllConnections()
    await new Promise(resolve => http.close(resolve))
  })
  const port = (http.address() as { port: number }).port
  const dribblers = Array.from({ length: 10 }, () => dribble(port, endlessRequest(port), 20))
  const ends = await Promise.all(dribblers.map(d => d.ended))
  const slowest = Math.max(...ends.map(e => e.afterMs))
  t.ok(ends.every(e => e.response.startsWith('HTTP/1.1 408')), `all answered ${ends[0]?.response}`)
  t.ok(slowest < 1_000 + 2_000, `all cut off within ${slowest} ms (timeout 1000 ms, checked every 100 ms)`)
  const client = await TestClient.open(`ws://127.0.0.1:${port}/ws`)
  t.equal(client.socket.readyState, client.socket.OPEN, 'the node still upgrades others')
  await client.close()
})

t.test('slowloris › sockets that upgrade and never connect (or dribble half a frame) are closed with 4009 at authTimeoutMs', async t => {
  const AUTH = 300
  const server = await startTestServer({ authTimeoutMs: AUTH, handshakeRatePerSecond: 0 })
  t.teardown(() => server.close())
  const silent = await Promise.all(Array.from({ length: 20 }, () => RawWebSocket.open(server.port)))
  const dribbling = await Promise.all(Array.from({ length: 20 }, () => RawWebSocket.open(server.port)))
  t.teardown(() => [...silent, ...dribbling].forEach(s => s.destroy()))
  t.equal(server.switchboard.connectionCount, 40, '40 unauthenticated connections open')
  // Half a frame: a header promising 100 bytes, then one byte every 20 ms.
  const frame = encodeFrame({ opcode: OPCODE.text, payload: Buffer.alloc(100, 0x20) })
  const timers = dribbling.map(s => {
    let at = 0
    return setInterval(() => void (at < frame.length - 1 && s.write(frame.subarray(at, ++at))), 20)
  })
  t.teardown(() => timers.forEach(clearInterval))
  const witness = await server.connect('witness')
  const closes = await Promise.all([...silent, ...dribbling].map(s => s.waitClosed()))
  timers.forEach(clearInterval)
  const frameTimes = closes.map(c => c.closeFrameAfterMs ?? Infinity)
  t.same([...new Set(closes.map(c => c.code))], [4009], 'every one closed with 4009')
  t.ok(Math.max(...frameTimes) < AUTH + 1_500, `close frames between ${Math.min(...frameTimes)} and ${Math.max(...frameTimes)} ms (authTimeoutMs ${AUTH})`)
  t.ok(Math.max(...closes.map(c => c.afterMs)) < AUTH + 1_000 + 1_500, `sockets released by ${Math.max(...closes.map(c => c.afterMs))} ms (closeTimeoutMs 1000 after the close frame, as these peers never answer it)`)
  await until(() => server.switchboard.connectionCount === 1, 'only the witness is left')
  t.match(await witness.request({ type: 'ping' }), { type: 'pong' }, 'an authenticated client was served throughout')
  await witness.close()
})

t.test('slowloris › an authenticated socket that dribbles a frame and answers no ping is closed by the heartbeat', async t => {
  const HEARTBEAT = 200
  const server = await startTestServer({ heartbeatMs: HEARTBEAT })
  t.teardown(() => server.close())
  const raw = await RawWebSocket.open(server.port)
  t.teardown(() => raw.destroy())
  await raw.sendMessage(JSON.stringify({ type: 'connect', id: 1, token: await server.token('mallory') }))
  await raw.nextJson(f => f.type === 'connected')
  const frame = encodeFrame({ opcode: OPCODE.text, payload: Buffer.alloc(1_000, 0x20) })
  let at = 0
  const timer = setInterval(() => void (at < frame.length - 1 && raw.write(frame.subarray(at, ++at))), 10)
  t.teardown(() => clearInterval(timer))
  const close = await raw.waitClosed()
  clearInterval(timer)
  // A partial frame is not a frame: lastSeen does not move, and raw sockets send no pong.
  t.ok(close.code === 4002 || close.code === 1006, `closed with ${close.code}: close frame at ${close.closeFrameAfterMs ?? '-'} ms, socket released at ${close.afterMs} ms (heartbeatMs ${HEARTBEAT}; ${at} bytes dribbled)`)
  t.ok(close.afterMs < 4 * HEARTBEAT + 1_000 + 1_500, 'within about two heartbeat intervals (plus closeTimeoutMs)')
})

t.test('slowloris › a crowd of idle sockets from one IP meets the per-IP handshake limit (429) and then the auth deadline', async t => {
  const server = await startTestServer({ handshakeRatePerSecond: 1, handshakeBurst: 10, authTimeoutMs: 300 })
  t.teardown(() => server.close())
  const sockets = await Promise.all(Array.from({ length: 25 }, () => RawWebSocket.open(server.port)))
  t.teardown(() => sockets.forEach(s => s.destroy()))
  const statuses = sockets.map(s => s.status)
  const upgraded = sockets.filter(s => s.status === 101)
  t.ok(upgraded.length >= 10 && upgraded.length <= 11, `${upgraded.length} upgraded (burst 10, 1/s)`)
  t.equal(statuses.filter(s => s === 429).length, 25 - upgraded.length, 'the rest got 429')
  t.match(sockets.find(s => s.status === 429)?.responseHead ?? '', /retry-after: 1/i)
  const closes = await Promise.all(upgraded.map(s => s.waitClosed()))
  t.same([...new Set(closes.map(c => c.code))], [4009], 'the upgraded ones were closed with 4009')
  await until(() => server.switchboard.connectionCount === 0, 'all released')
  t.pass('node back to 0 connections')
})
