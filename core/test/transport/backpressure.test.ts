import t from 'tap'
import { startTestServer } from '../../src/testing/test-server.js'
import { ScriptedChannels } from '../helpers/scripted-channels.js'
import { PreparedFrame } from '../../src/protocol/prepared-frame.js'
import { nextDisconnects } from '../helpers/events.js'
import type { Session } from '../../src/transport/session.js'

t.test('backpressure › a client that stops reading is closed with 4008 and released', async t => {
  let flooded: Session | undefined
  const channels = new ScriptedChannels({
    onPublish: (_frame, session) => {
      flooded = session
      const frame = PreparedFrame.fromJson(JSON.stringify({ type: 'message', channel: 'test:a', seq: 1, epoch: 'e', mid: 'm', from: 'x', data: 'y'.repeat(16_000), ts: 0 }))
      // Far more than the kernel buffers of a paused loopback socket plus maxBufferedBytes.
      for (let i = 0; i < 2_000 && session.sendPrepared(frame); i++);
    },
  })
  const server = await startTestServer({ maxBufferedBytes: 256 * 1024, channelLayer: () => channels })
  t.teardown(() => server.close())
  const disconnected = nextDisconnects(server.switchboard)
  const slow = await server.connect('slow')
  ;(slow.socket as unknown as { _socket: { pause(): void } })._socket.pause()
  slow.send({ type: 'publish', id: 1, channel: 'test:a', data: {} })
  t.match(await disconnected, [{ reason: 'slow-consumer' }])
  t.equal(flooded?.closed, true)
  t.equal(server.switchboard.connectionCount, 0)
  t.match(await server.switchboard.metrics.registry.metrics(), /^switchboard_slow_consumer_closes_total 1$/m, 'the close is counted')
  slow.terminate()
})

t.test('broadcast › one PreparedFrame reaches many connections', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const clients = await Promise.all(['a', 'b', 'c'].map(user => server.connect(user)))
  const frame = PreparedFrame.fromJson(JSON.stringify({ type: 'join', channel: 'room:x', user: 'z' }))
  const received = clients.map(c => c.next('join'))
  for (const session of server.switchboard.sessions()) t.ok(session.sendPrepared(frame))
  for (const got of await Promise.all(received)) t.same(got, { type: 'join', channel: 'room:x', user: 'z' })
  for (const c of clients) await c.close()
})
