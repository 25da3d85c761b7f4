import t from 'tap'
import { Publisher } from '../src/publisher.js'

t.test('Publisher › a dropped connection rejects every volatile publish, the waiting ones too; the others wait for the next', async t => {
  let connected = true
  const sent: string[] = []
  const publisher = new Publisher({
    // Never answered: the connection drops first.
    request: frame => {
      sent.push(String((frame as { data: { text: string } }).data.text))
      return new Promise(() => {})
    },
    connected: () => connected,
    frameSize: frame => JSON.stringify(frame).length,
    limit: 1000,
    window: 1,
    retries: 3,
    maxPayloadBytes: 65_536,
    backoff: { minDelayMs: 10, maxDelayMs: 20 } as never,
  })
  const outcomes = ['v1', 'v2', 'v3'].map(text => publisher.publish('typing:a', { text }, { volatile: true }).then(() => 'sent', (error: { code: string }) => error.code))
  const kept = publisher.publish('room:a', { text: 'kept' }, {})
  t.same(sent, ['v1'], 'one in flight (window 1), the rest waiting')
  connected = false
  publisher.connectionLost()
  t.same(await Promise.all(outcomes), ['DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED'], 'in flight or waiting, every volatile publish is dropped')
  connected = true
  publisher.pump()
  t.same(sent, ['v1', 'kept'], 'on the next connection only the durable publish goes out')
  void kept
})
