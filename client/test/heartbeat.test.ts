import { once } from 'node:events'
import t from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import { createClient } from '../src/node.js'
import { nextState, within } from './helpers/wait.js'

/**
 * A bare `ws` server speaking just enough of the protocol: `connected` (asking for pings every
 * `heartbeatMs`) and `pong`s while `answering` is true. It never closes anything itself.
 */
async function fakeServer(heartbeatMs: number) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'switchboard.v1.json' })
  await once(wss, 'listening')
  const state = { answering: true, connections: 0, pings: [] as number[] }
  const pingWaiters: { count: number; resolve(): void }[] = []
  const connectionWaiters: { count: number; resolve(): void }[] = []
  wss.on('connection', (socket: WebSocket) => {
    socket.on('error', () => {})
    state.connections += 1
    for (const w of connectionWaiters.filter(w => state.connections >= w.count)) w.resolve()
    socket.on('message', data => {
      const frame = JSON.parse(data.toString()) as { type: string; id: number }
      if (frame.type === 'connect') socket.send(JSON.stringify({ type: 'connected', id: frame.id, session: 's', user: 'u', node: 'fake', heartbeatMs }))
      if (frame.type === 'ping') {
        state.pings.push(Date.now())
        for (const w of pingWaiters.filter(w => state.pings.length >= w.count)) w.resolve()
        if (state.answering) socket.send(JSON.stringify({ type: 'pong', id: frame.id }))
      }
    })
  })
  const port = (wss.address() as { port: number }).port
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    state,
    pings: (count: number) => within(new Promise<void>(resolve => pingWaiters.push({ count, resolve })), 10_000, `${count} pings`),
    connections: (count: number) => within(new Promise<void>(resolve => connectionWaiters.push({ count, resolve })), 10_000, `${count} connections`),
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise(resolve => wss.close(resolve))
    },
  }
}

t.test('heartbeat › pings at the server’s heartbeatMs and stays connected while pongs come back', async t => {
  const server = await fakeServer(100)
  t.teardown(() => server.close())
  const client = createClient({ url: server.url, getToken: () => 'token' })
  t.teardown(() => client.close())
  const changes: string[] = []
  client.on('state', c => changes.push(c.state))
  client.connect()
  await server.pings(6)
  const gaps = server.state.pings.slice(1).map((at, i) => at - server.state.pings[i]!)
  t.ok(gaps.every(gap => gap >= 80), `pings about 100 ms apart (${gaps.join(', ')})`)
  t.same(changes, ['connecting', 'connected'], 'no reconnect while answered')
})

t.test('heartbeat › two unanswered pings mean a dead connection: reconnect', async t => {
  const server = await fakeServer(100)
  t.teardown(() => server.close())
  const client = createClient({ url: server.url, getToken: () => 'token', reconnect: { minDelayMs: 10, maxDelayMs: 20 } })
  t.teardown(() => client.close())
  client.connect()
  await server.pings(2)
  server.state.answering = false
  const stoppedAt = Date.now()
  const pingsBefore = server.state.pings.length
  const change = await nextState(client, 'reconnecting')
  const detectedAfter = Date.now() - stoppedAt
  t.equal(change.reason, 'heartbeat-timeout')
  t.equal(change.previous, 'connected')
  t.ok(server.state.pings.length - pingsBefore >= 2, 'two pings went unanswered first')
  t.ok(detectedAfter >= 150, `not before two intervals (${detectedAfter} ms)`)
  t.ok(detectedAfter < 3000, `soon after two intervals (${detectedAfter} ms)`)
  server.state.answering = true
  await server.connections(2)
  await nextState(client, 'connected')
})

t.test('heartbeat › the heartbeatMs option overrides the server’s interval', async t => {
  const server = await fakeServer(60_000)
  t.teardown(() => server.close())
  const client = createClient({ url: server.url, getToken: () => 'token', heartbeatMs: 50 })
  t.teardown(() => client.close())
  client.connect()
  await server.pings(3)
  t.pass('pinged every 50 ms although the server asked for 60 s')
})
