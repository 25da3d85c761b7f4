import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSwitchboard } from '../../src/switchboard.js'
import { silentLogger } from '../../src/observability/logger.js'
import { MemoryBroker } from '../../src/engines/memory/memory-broker.js'
import { MemoryPresence } from '../../src/engines/memory/memory-presence.js'
import { TestClient } from '../../src/testing/test-client.js'
import { signDevToken } from '../../src/auth/token-verifier.js'
import { ScriptedChannels } from '../helpers/scripted-channels.js'

const secret = 'shutdown-secret'

t.test('shutdown › closes clients with 1001, waits for in-flight handlers, refuses upgrades with 503, closes engines last', async t => {
  const order: string[] = []
  class RecordingBroker extends MemoryBroker {
    override async close(): Promise<void> {
      order.push('broker')
      await super.close()
    }
  }
  class RecordingPresence extends MemoryPresence {
    override async close(): Promise<void> {
      order.push('presence')
      await super.close()
    }
  }
  let release!: () => void
  const gate = new Promise<void>(resolve => (release = resolve))
  let entered!: () => void
  const started = new Promise<void>(resolve => (entered = resolve))
  let handlerFinished = false
  const channels = new ScriptedChannels({
    onPublish: async () => {
      entered()
      await gate
      handlerFinished = true
      order.push('handler')
    },
  })
  const origClose = channels.close.bind(channels)
  channels.close = async () => {
    order.push('channels')
    await origClose()
  }
  const http = createServer((_req, res) => res.end('ok'))
  await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => http.close(() => resolve())))
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`
  const switchboard = createSwitchboard({
    logger: silentLogger(),
    jwt: { secret },
    engines: { broker: new RecordingBroker(), presence: new RecordingPresence() },
    channelLayer: () => channels,
    hooks: { onClose: () => void order.push('onClose') },
  })
  switchboard.attach(http)
  const { client } = await TestClient.connect(url, await signDevToken(secret, 'alice'))
  const idle = (await TestClient.connect(url, await signDevToken(secret, 'bob'))).client
  client.send({ type: 'publish', id: 5, channel: 'test:a', data: {} })
  await started
  const closing = switchboard.close()
  t.equal(switchboard.close(), closing, 'close is idempotent')
  t.match(await idle.waitClosed(), { code: 1001 })
  t.match(await client.waitClosed(), { code: 1001 })
  await t.rejects(TestClient.open(url), { message: /refused with 503/ }, 'a draining node refuses upgrades')
  t.equal(handlerFinished, false, 'the in-flight handler is still running')
  release()
  await closing
  t.equal(handlerFinished, true)
  t.same(order, ['handler', 'onClose', 'channels', 'presence', 'broker'])
  t.equal(channels.disconnects.size, 2, 'every connection was cleaned up')
  await t.rejects(TestClient.open(url), { message: /refused with 200/ }, 'after close /ws is no longer upgraded: the app server answers plain HTTP')
})

t.test('shutdown › a handler that never ends does not stop close past the budget', async t => {
  const channels = new ScriptedChannels({ onPublish: () => new Promise<void>(() => {}) })
  const switchboard = createSwitchboard({
    logger: silentLogger(),
    jwt: { secret },
    channelLayer: () => channels,
    shutdownMs: 200,
    handlerDeadlineMs: 60_000,
  })
  const { port } = await switchboard.listen()
  const { client } = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, await signDevToken(secret, 'alice'))
  client.send({ type: 'publish', id: 5, channel: 'test:a', data: {} })
  while (channels.handled.length === 0) await new Promise(resolve => setImmediate(resolve))
  await switchboard.close()
  t.equal(switchboard.connectionCount, 0)
  t.equal(channels.closed, true)
})
