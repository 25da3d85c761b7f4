import t from 'tap'
import { encode } from '@msgpack/msgpack'
import { startTestServer } from '../../src/testing/test-server.js'

t.test('bad frames › answered with a coded error; the connection stays usable', async t => {
  const server = await startTestServer({ maxPayloadBytes: 4096 })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  t.teardown(() => client.close())
  const cases: [string, string | Buffer, string, number | undefined][] = [
    ['unparseable JSON', '{"type":', 'BAD_FRAME', undefined],
    ['a JSON array', '[1,2]', 'BAD_FRAME', undefined],
    ['a bare string', '"hello"', 'BAD_FRAME', undefined],
    ['an unknown type', '{"type":"explode","id":7}', 'BAD_FRAME', 7],
    ['a missing type', '{"id":8}', 'BAD_FRAME', 8],
    ['an ill-typed id', '{"type":"ping","id":"x"}', 'BAD_FRAME', undefined],
    ['a negative id', '{"type":"ping","id":-1}', 'BAD_FRAME', undefined],
    ['an ill-typed channel', '{"type":"subscribe","id":9,"channel":42}', 'BAD_FRAME', 9],
    ['a channel without namespace', '{"type":"subscribe","id":10,"channel":"lobby"}', 'BAD_FRAME', 10],
    ['an ill-typed since', '{"type":"subscribe","id":11,"channel":"room:a","since":{"epoch":"e","seq":"1"}}', 'BAD_FRAME', 11],
    ['a publish without data', '{"type":"publish","id":12,"channel":"room:a"}', 'BAD_FRAME', 12],
    ['a __proto__ key', '{"type":"publish","id":13,"channel":"room:a","data":{"__proto__":{"polluted":true}}}', 'BAD_FRAME', 13],
    ['constructor.prototype', '{"type":"publish","id":14,"channel":"room:a","data":{"constructor":{"prototype":{"polluted":true}}}}', 'BAD_FRAME', 14],
    ['a binary frame on the JSON protocol', Buffer.from(encode({ type: 'ping', id: 15 })), 'BAD_FRAME', undefined],
    ['a limit out of range', '{"type":"history","id":16,"channel":"room:a","limit":1000}', 'BAD_FRAME', 16],
    ['a key over 128 chars', JSON.stringify({ type: 'publish', id: 17, channel: 'room:a', data: {}, key: 'k'.repeat(129) }), 'BAD_FRAME', 17],
  ]
  for (const [name, raw, code, id] of cases) {
    t.test(name, async t => {
      const reply = client.next('error')
      client.sendRaw(raw)
      const error = await reply
      t.equal(error.code, code)
      t.equal(error.id, id)
      t.type(error.message, 'string')
      t.notMatch(String(error.message), /\n\s+at /, 'no stack trace')
      t.match(await client.request({ type: 'ping' }), { type: 'pong' }, 'still usable')
    })
  }
  t.test('nothing was polluted', async t => {
    t.equal(({} as Record<string, unknown>).polluted, undefined)
  })
  t.test('channel frames with no channel layer get UNKNOWN_CHANNEL', async t => {
    for (const frame of [
      { type: 'subscribe', channel: 'room:lobby' },
      { type: 'unsubscribe', channel: 'room:lobby' },
      { type: 'publish', channel: 'room:lobby', data: { text: 'hi' } },
      { type: 'history', channel: 'room:lobby' },
      { type: 'presence', channel: 'room:lobby' },
    ]) {
      t.match(await client.request(frame), { type: 'error', code: 'UNKNOWN_CHANNEL' }, frame.type)
    }
    const ackError = client.next('error')
    client.send({ type: 'ack', channel: 'room:lobby', seq: 1 })
    t.match(await ackError, { code: 'UNKNOWN_CHANNEL' })
    t.equal((await ackError).id, undefined)
  })
  t.test('a frame over maxPayloadBytes closes with 1009', async t => {
    const victim = await server.connect('bob')
    victim.sendRaw(JSON.stringify({ type: 'publish', id: 1, channel: 'room:a', data: 'x'.repeat(5000) }))
    t.match(await victim.waitClosed(), { code: 1009 })
    t.match(await client.request({ type: 'ping' }), { type: 'pong' }, 'other connections unaffected')
  })
})

t.test('bad frames › msgpack codec', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = await server.connect('alice', { protocol: 'msgpack' })
  t.teardown(() => client.close())
  const cases: [string, string | Buffer, number | undefined][] = [
    ['random bytes', Buffer.from([0xc1, 0xff, 0x00, 0x13]), undefined],
    ['a text frame', '{"type":"ping","id":3}', undefined],
    ['an unknown type', Buffer.from(encode({ type: 'nope', id: 4 })), 4],
    // The decoder refuses a __proto__ map key outright, before the id could be read.
    ['a __proto__ key', Buffer.from(encode({ type: 'publish', id: 5, channel: 'room:a', data: JSON.parse('{"__proto__":{"x":1}}') })), undefined],
  ]
  for (const [name, raw, id] of cases) {
    t.test(name, async t => {
      const reply = client.next('error')
      client.sendRaw(raw)
      const error = await reply
      t.match(error, { type: 'error', code: 'BAD_FRAME' })
      t.equal(error.id, id)
      t.match(await client.request({ type: 'ping' }), { type: 'pong' })
    })
  }
})
