import t from 'tap'
import { encode } from '@msgpack/msgpack'
import { startTestServer } from '../../src/testing/test-server.js'
import { allChannels } from '../channels/fixtures/test-channels.js'
import { nextDisconnects } from '../helpers/events.js'
import { until } from './fixtures/memory.js'
import { OPCODE, RawWebSocket } from './fixtures/raw-websocket.js'

/**
 * Hostile payloads over the wire, against a node with the real channel layer:
 * prototype-polluting keys in every place a frame can hold them (both codecs, escaped spellings
 * included) and the exact `maxPayloadBytes` boundary. core/test/transport/bad-frames.test.ts
 * covers one `__proto__` and one `constructor.prototype` case in `data` and a frame well over
 * the limit; these add the other places, spellings and the byte-exact limit.
 */

const polluted = (): unknown => (Object.prototype as Record<string, unknown>).polluted ?? ({} as Record<string, unknown>).polluted

/** JSON texts with a polluting key somewhere; each has `id` so the reply can be matched. */
const JSON_CASES: [string, string][] = [
  ['top-level __proto__', '{"type":"ping","id":101,"__proto__":{"polluted":true}}'],
  ['__proto__ before type', '{"__proto__":{"polluted":true},"type":"publish","id":102,"channel":"room:lobby","data":{"text":"hi"}}'],
  ['__proto__ in data', '{"type":"publish","id":103,"channel":"room:lobby","data":{"text":"hi","__proto__":{"polluted":true}}}'],
  ['constructor.prototype in data', '{"type":"publish","id":104,"channel":"room:lobby","data":{"text":"hi","constructor":{"prototype":{"polluted":true}}}}'],
  ['__proto__ deep in an array in data', '{"type":"publish","id":105,"channel":"room:lobby","data":{"text":"hi","x":[[{"a":{"__proto__":{"polluted":true}}}]]}}'],
  ['escaped \\u005f_proto__', '{"type":"publish","id":106,"channel":"room:lobby","data":{"\\u005f_proto__":{"polluted":true},"text":"hi"}}'],
  ['escaped __pro\\u0074o__', '{"type":"publish","id":107,"channel":"room:lobby","data":{"__pro\\u0074o__":{"polluted":true},"text":"hi"}}'],
  ['escaped constructor.\\u0070rototype', '{"type":"publish","id":108,"channel":"room:lobby","data":{"text":"hi","constructor":{"\\u0070rototype":{"polluted":true}}}}'],
  ['__proto__ in since', '{"type":"subscribe","id":109,"channel":"room:lobby","since":{"epoch":"e","seq":0,"__proto__":{"polluted":true}}}'],
  ['constructor.prototype at the top', '{"type":"ping","id":110,"constructor":{"prototype":{"polluted":true}}}'],
  ['__proto__ in a history request', '{"type":"history","id":111,"channel":"room:lobby","__proto__":{"limit":1000}}'],
  ['__proto__ in a refresh', '{"type":"refresh","id":112,"token":"x","__proto__":{"polluted":true}}'],
  ['__proto__ holding a null', '{"type":"ping","id":113,"__proto__":null}'],
]

t.test('payloads › prototype-polluting keys (JSON) › BAD_FRAME with the id, nothing polluted, nothing stored', async t => {
  const server = await startTestServer({ channels: allChannels })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  const watcher = await server.connect('bob')
  await watcher.request({ type: 'subscribe', channel: 'room:lobby' })
  for (const [name, raw] of JSON_CASES) {
    const id = Number(/"id":(\d+)/.exec(raw)![1])
    const reply = client.next(f => f.id === id, name)
    client.sendRaw(raw)
    t.match(await reply, { type: 'error', id, code: 'BAD_FRAME' }, name)
  }
  t.equal(polluted(), undefined, 'Object.prototype not polluted')
  t.match(await client.request({ type: 'history', channel: 'room:lobby' }), { type: 'history', messages: [] }, 'nothing was stored')
  t.equal(watcher.frames.filter(f => f.type === 'message').length, 0, 'nothing was broadcast')
  t.match(await client.request({ type: 'ping' }), { type: 'pong' }, 'the connection stays usable')
  await client.close()
  await watcher.close()
})

t.test('payloads › prototype-polluting keys (MessagePack) › BAD_FRAME, nothing polluted, nothing stored', async t => {
  const server = await startTestServer({ channels: allChannels })
  t.teardown(() => server.close())
  const client = await server.connect('alice', { protocol: 'msgpack' })
  const own = (key: string, value: unknown, into: Record<string, unknown> = {}): Record<string, unknown> =>
    Object.defineProperty(into, key, { value, enumerable: true, configurable: true, writable: true }) as Record<string, unknown>
  const cases: [string, unknown][] = [
    ['top-level __proto__', own('__proto__', { polluted: true }, { type: 'ping', id: 201 })],
    ['__proto__ in data', { type: 'publish', id: 202, channel: 'room:lobby', data: own('__proto__', { polluted: true }, { text: 'hi' }) }],
    ['constructor.prototype in data', { type: 'publish', id: 203, channel: 'room:lobby', data: { text: 'hi', constructor: { prototype: { polluted: true } } } }],
    ['__proto__ deep in an array', { type: 'publish', id: 204, channel: 'room:lobby', data: { text: 'hi', x: [[own('__proto__', { polluted: true })]] } }],
    ['__proto__ in since', { type: 'subscribe', id: 205, channel: 'room:lobby', since: own('__proto__', { polluted: true }, { epoch: 'e', seq: 0 }) }],
  ]
  for (const [name, frame] of cases) {
    const reply = client.next('error', name)
    client.sendRaw(Buffer.from(encode(frame)), true)
    t.match(await reply, { type: 'error', code: 'BAD_FRAME' }, name)
  }
  t.equal(polluted(), undefined, 'Object.prototype not polluted')
  t.match(await client.request({ type: 'history', channel: 'room:lobby' }), { type: 'history', messages: [] }, 'nothing was stored')
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  await client.close()
})

t.test('payloads › prototype names as channel names, params, types and idempotency keys are plain strings', async t => {
  const server = await startTestServer({ channels: allChannels })
  t.teardown(() => server.close())
  const alice = await server.connect('alice')
  t.match(await alice.request({ type: 'subscribe', channel: 'room:__proto__' }), { type: 'subscribed', channel: 'room:__proto__' })
  t.match(await alice.request({ type: 'publish', channel: 'room:__proto__', data: { text: 'a' } }), { type: 'published', seq: 1 })
  t.match(await alice.request({ type: 'subscribe', channel: 'room:constructor' }), { type: 'subscribed' })
  t.match(await alice.request({ type: 'subscribe', channel: 'constructor:prototype' }), { code: 'UNKNOWN_CHANNEL' })
  t.match(await alice.request({ type: 'subscribe', channel: 'hasownproperty:x' }), { code: 'UNKNOWN_CHANNEL' })
  t.match(await alice.request({ type: 'subscribe', channel: 'dm:__proto__:constructor' }), { code: 'FORBIDDEN' })
  for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    t.match(await alice.request({ type }), { type: 'error', code: 'BAD_FRAME' }, `type ${type}`)
  }
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const first = await alice.request({ type: 'publish', channel: 'room:keys', data: { text: key }, key })
    const again = await alice.request({ type: 'publish', channel: 'room:keys', data: { text: key }, key })
    t.match(first, { type: 'published' }, `key ${key}`)
    t.equal(again.seq, first.seq, `key ${key} deduplicates like any other`)
  }
  t.equal(polluted(), undefined, 'Object.prototype not polluted')
  await alice.close()
})

/** A JSON `ping` padded with whitespace to exactly `bytes` bytes. */
const jsonPingOf = (bytes: number, id: number): string => {
  const frame = `{"type":"ping","id":${id}}`
  return frame + ' '.repeat(bytes - Buffer.byteLength(frame))
}

/** A MessagePack `ping` with a stripped `pad` field sized so the frame is exactly `bytes` bytes. */
function msgpackPingOf(bytes: number, id: number): Buffer {
  for (let pad = bytes; pad >= 0; pad--) {
    const raw = Buffer.from(encode({ type: 'ping', id, pad: 'x'.repeat(pad) }))
    if (raw.length === bytes) return raw
  }
  throw new Error(`no padding gives ${bytes} bytes`)
}

t.test('payloads › maxPayloadBytes is exact: a frame of maxPayload bytes is served, maxPayload + 1 closes with 1009', async t => {
  const MAX = 4096
  const server = await startTestServer({ maxPayloadBytes: MAX })
  t.teardown(() => server.close())
  const bystander = await server.connect('carol')
  for (const protocol of ['json', 'msgpack'] as const) {
    t.test(protocol, async t => {
      const frame = (bytes: number, id: number): string | Buffer => (protocol === 'json' ? jsonPingOf(bytes, id) : msgpackPingOf(bytes, id))
      const client = await server.connect('alice', { protocol })
      const atLimit = frame(MAX, 7)
      t.equal(Buffer.byteLength(atLimit), MAX)
      const pong = client.next('pong')
      client.sendRaw(atLimit, protocol === 'msgpack')
      t.match(await pong, { type: 'pong', id: 7 }, `${MAX} bytes are served`)
      const disconnected = nextDisconnects(server.switchboard)
      const over = frame(MAX + 1, 8)
      t.equal(Buffer.byteLength(over), MAX + 1)
      client.sendRaw(over, protocol === 'msgpack')
      t.match(await client.waitClosed(), { code: 1009 }, `${MAX + 1} bytes close with 1009`)
      const [info] = await disconnected
      t.equal(info?.reason, 'payload-too-big', 'onDisconnect reason')
      t.match(await bystander.request({ type: 'ping' }), { type: 'pong' }, 'other connections unaffected')
      // ws stops reading after the oversized frame and never sees the echo (the socket reports
      // 1006); the node passes on the code it sent.
      t.equal(info?.code, 1009, 'onDisconnect reports the 1009 the node sent')
    })
  }
})

t.test('payloads › a frame header declaring 1 GiB (or 2^63 bytes) closes with 1009 at once, before any payload is buffered', async t => {
  const server = await startTestServer({ maxPayloadBytes: 4096 })
  t.teardown(() => server.close())
  for (const [name, lengthBytes] of [
    ['1 GiB', Buffer.from([0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0])],
    ['2^63 - 1', Buffer.from([0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
  ] as const) {
    const raw = await RawWebSocket.open(server.port)
    t.equal(raw.status, 101)
    // FIN + text, masked, 64-bit length; a mask key and 16 bytes of the promised payload.
    await raw.write(Buffer.concat([Buffer.from([0x80 | OPCODE.text]), lengthBytes, Buffer.alloc(4), Buffer.from('{"type":"ping",')]))
    const close = await raw.waitClosed()
    t.equal(close.code, 1009, `${name}: closed with 1009 after ${close.afterMs} ms`)
    raw.destroy()
  }
  await until(() => server.switchboard.connectionCount === 0, 'the node released both connections')
  t.pass('both connections released')
})
