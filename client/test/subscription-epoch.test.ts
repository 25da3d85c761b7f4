import t from 'tap'
import type { ServerFrame } from '../src/frames.js'
import { Subscription, type ChannelHost } from '../src/subscription.js'

/** A host whose connection the test drives: it answers each `subscribe` with the reply queued for it, and records acks. */
function stubHost() {
  const acks: number[] = []
  const replies: ServerFrame[] = []
  const host: ChannelHost = {
    backoff: { minDelayMs: 10, maxDelayMs: 20, factor: 2, jitter: 0 } as ChannelHost['backoff'],
    ackDelayMs: 0,
    connected: () => true,
    closed: () => false,
    request: async () => {
      const reply = replies.shift()
      if (reply === undefined) throw new Error('no reply queued')
      return reply
    },
    sendAck: (_channel, seq) => {
      acks.push(seq)
      return true
    },
    reportError: () => {},
  }
  return { host, acks, replies }
}

const message = (epoch: string, seq: number): ServerFrame => ({ type: 'message', channel: 'dm:a:b', epoch, seq, mid: `m${seq}`, from: 'a', data: { seq }, ts: 0 })

t.test('Subscription › messages of an old epoch handled after the stream was reset ack nothing in the new one', async t => {
  const { host, acks, replies } = stubHost()
  const subscription = new Subscription('dm:a:b', host, 'auto')
  let release!: () => void
  const gate = new Promise<void>(resolve => (release = resolve))
  const handled: string[] = []
  let nextHandled: (() => void) | undefined
  subscription.events.on('message', async m => {
    if (m.epoch === 'old' && m.seq === 1) await gate
    handled.push(`${m.epoch}:${m.seq}`)
    nextHandled?.()
  })
  const waitHandled = (count: number): Promise<void> =>
    new Promise(resolve => {
      const check = (): void => {
        if (handled.length >= count) resolve()
      }
      nextHandled = check
      check()
    })
  replies.push({ type: 'subscribed', id: 1, channel: 'dm:a:b', epoch: 'old', seq: 0, recovered: false })
  await subscription.subscribe()
  subscription.receive(message('old', 1))
  subscription.receive(message('old', 2))
  // The connection drops while the handler of old:1 runs; on the next one the stream has a new epoch.
  subscription.disconnected()
  replies.push({ type: 'subscribed', id: 2, channel: 'dm:a:b', epoch: 'new', seq: 0, recovered: false })
  subscription.connected()
  await new Promise(resolve => setImmediate(resolve))
  release()
  await waitHandled(2)
  subscription.receive(message('new', 1))
  await waitHandled(3)
  await new Promise(resolve => setTimeout(resolve, 5))
  t.same(handled, ['old:1', 'old:2', 'new:1'], 'the old messages were still handed to the app')
  t.same(acks, [1], 'only new:1 was acked; old:2 did not ack seq 2 of the new epoch')
})
