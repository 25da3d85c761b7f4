import t from 'tap'
import { startTestServer } from '../../src/testing/test-server.js'
import { ScriptedChannels } from '../helpers/scripted-channels.js'
import { nextDisconnects } from '../helpers/events.js'

t.test('rate limit › publishes beyond the burst get RATE_LIMITED and reach no handler', async t => {
  const channels = new ScriptedChannels()
  // A refill of 1/s cannot add a token during the test on any machine.
  const server = await startTestServer({ publishRatePerSecond: 1, publishBurst: 5, channelLayer: () => channels })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  const replies = await Promise.all(
    Array.from({ length: 8 }, (_, i) => client.request({ type: 'publish', channel: 'test:a', data: { i } })),
  )
  t.same(
    replies.map(r => (r.type === 'error' ? r.code : r.type)),
    ['published', 'published', 'published', 'published', 'published', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED'],
  )
  t.equal(channels.handled.filter(f => f.type === 'publish').length, 5)
  t.match(await client.request({ type: 'ping' }), { type: 'pong' }, 'other frames still flow')
  await client.close()
})

t.test('rate limit › sustained abuse closes with 4029', async t => {
  const server = await startTestServer({
    publishRatePerSecond: 1,
    publishBurst: 1,
    rateLimitCloseAfter: 20,
    channelLayer: () => new ScriptedChannels(),
  })
  t.teardown(() => server.close())
  const disconnected = nextDisconnects(server.switchboard)
  const client = await server.connect('flooder')
  for (let i = 0; i < 50; i++) client.send({ type: 'publish', id: i + 10, channel: 'test:a', data: {} })
  t.match(await client.waitClosed(), { code: 4029 })
  t.match(await disconnected, [{ code: 4029, reason: 'rate-limited' }])
  const limited = client.frames.filter(f => f.type === 'error' && f.code === 'RATE_LIMITED').length
  t.equal(limited, 20, 'every refused publish was answered RATE_LIMITED, the one that closed the connection too')
})

t.test('dispatch › a full queue answers OVERLOADED', async t => {
  let release!: () => void
  const gate = new Promise<void>(resolve => (release = resolve))
  let entered!: () => void
  const started = new Promise<void>(resolve => (entered = resolve))
  const channels = new ScriptedChannels({
    onPublish: async () => {
      entered()
      await gate
    },
  })
  const server = await startTestServer({ dispatchConcurrency: 1, dispatchQueueCap: 0, channelLayer: () => channels })
  t.teardown(() => server.close())
  const a = await server.connect('a')
  const b = await server.connect('b')
  const first = a.request({ type: 'publish', channel: 'test:a', data: {} })
  await started
  t.match(await b.request({ type: 'publish', channel: 'test:a', data: {} }), { type: 'error', code: 'OVERLOADED' })
  release()
  t.match(await first, { type: 'published' })
  await a.close()
  await b.close()
})

t.test('dispatch › a handler past its deadline answers TIMEOUT and sees its signal abort', async t => {
  let aborted!: (reason: unknown) => void
  const abortSeen = new Promise<unknown>(resolve => (aborted = resolve))
  const channels = new ScriptedChannels({
    onPublish: (_frame, _session, signal) =>
      new Promise<void>(resolve => {
        signal.addEventListener('abort', () => {
          aborted(signal.reason)
          resolve()
        })
      }),
  })
  const server = await startTestServer({ handlerDeadlineMs: 50, channelLayer: () => channels })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  t.match(await client.request({ type: 'publish', channel: 'test:a', data: {} }), { type: 'error', code: 'TIMEOUT' })
  t.match(await abortSeen, { code: 'TIMEOUT' })
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  await client.close()
})

t.test('dispatch › a handler that throws an unexpected error answers INTERNAL without internals', async t => {
  const channels = new ScriptedChannels({
    onPublish: () => {
      throw new Error('database password is hunter2')
    },
  })
  const server = await startTestServer({ channelLayer: () => channels })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  const reply = await client.request({ type: 'publish', channel: 'test:a', data: {} })
  t.match(reply, { type: 'error', code: 'INTERNAL' })
  t.notMatch(String(reply.message), /hunter2|Error:|\n/)
  await client.close()
})
