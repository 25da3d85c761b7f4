import t, { type Test } from 'tap'
import { ExtData } from '@msgpack/msgpack'
import { SwitchboardError } from '../../src/errors.js'
import type { Codec } from '../../src/protocol/codec.js'
import { MAX_NESTING_DEPTH, decodeClientFrame, type DecodeResult } from '../../src/protocol/decode-frame.js'
import { jsonCodec } from '../../src/protocol/json-codec.js'
import { msgpackCodec } from '../../src/protocol/msgpack-codec.js'
import { bytes, clientFrames, nested, text, wire, type Wire } from './fixtures/frames.js'

const codecs: readonly Codec[] = [jsonCodec, msgpackCodec]

function decode(codec: Codec, input: Wire): DecodeResult {
  return decodeClientFrame(codec, input.raw, input.isBinary)
}

/** Asserts a BAD_FRAME result and returns it, narrowed. */
function badFrame(t: Test, result: DecodeResult): Extract<DecodeResult, { ok: false }> {
  if (result.ok) {
    t.fail(`expected BAD_FRAME, decoded ${JSON.stringify(result.frame)}`)
    throw new Error('unreachable')
  }
  t.type(result.error, SwitchboardError)
  t.equal(result.error.code, 'BAD_FRAME')
  return result
}

/** The distinct paths of a result's details. */
function paths(result: Extract<DecodeResult, { ok: false }>): string[] {
  return [...new Set((result.error.details ?? []).map((detail) => detail.path))]
}

/** A short, ASCII-only label for a value (U+2028 and friends would break the TAP stream). */
function label(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value)
  return json.slice(0, 70).replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

t.afterEach(() => {
  if (({} as Record<string, unknown>)['polluted'] !== undefined) throw new Error('Object.prototype was polluted')
})

for (const codec of codecs) {
  t.test(`decodeClientFrame (${codec.name})`, async (t) => {
    t.test('decodes every client frame type, with and without optional fields', async (t) => {
      for (const frame of clientFrames) {
        const result = decode(codec, wire(codec, frame))
        t.same(result, { ok: true, frame }, frame.type)
      }
    })

    t.test('strips unknown fields, at the top level and inside nested objects', async (t) => {
      const result = decode(codec, wire(codec, {
        type: 'subscribe', id: 1, channel: 'room:a', since: { epoch: 'e', seq: 1, extra: 1 }, future: 'x',
      }))
      t.same(result, { ok: true, frame: { type: 'subscribe', id: 1, channel: 'room:a', since: { epoch: 'e', seq: 1 } } })
      t.notOk(result.ok && 'future' in result.frame)
    })

    t.test('accepts the boundary values', async (t) => {
      const accepted = [
        { type: 'publish', id: 1, channel: `room:${'x'.repeat(195)}`, data: 0, key: 'k'.repeat(128) },
        { type: 'history', id: 1, channel: 'room:a', before: 1, limit: 1 },
        { type: 'subscribe', id: 1, channel: 'a:-', since: { epoch: 'e'.repeat(64), seq: 0 } },
        { type: 'connect', id: 1, token: 't'.repeat(8192), client: { name: 'n'.repeat(100), version: 'v'.repeat(50) } },
        { type: 'publish', id: 1, channel: 'x_1-y:é✓🙂/#?', data: [] },
        { type: 'ack', channel: 'user:1', seq: 0 },
      ]
      for (const frame of accepted) t.ok(decode(codec, wire(codec, frame)).ok, label(frame))
    })

    t.test('refuses input that does not parse', async (t) => {
      const inputs: Wire[] = codec.binary
        ? [bytes(), bytes(0x92, 0x01), bytes(0xc1), bytes(0x81, 0xa1, 0x61), bytes(0x01, 0x02)]
        : [text(''), text('{'), text('{"type":"ping","id":1'), text('nope'), text('{"a":1} x')]
      for (const input of inputs) {
        const result = badFrame(t, decode(codec, input))
        t.equal(result.id, undefined)
      }
    })

    t.test('refuses the other kind of WebSocket frame', async (t) => {
      const frame = { type: 'ping', id: 1 }
      const other = codec.binary ? text(JSON.stringify(frame)) : wire(msgpackCodec, frame)
      badFrame(t, decode(codec, other))
    })

    t.test('refuses values that are not objects', async (t) => {
      for (const value of [1, 'x', null, [], [{ type: 'ping', id: 1 }], true]) {
        const result = badFrame(t, decode(codec, wire(codec, value)))
        t.same(paths(result), [''], JSON.stringify(value))
      }
    })

    t.test('refuses a missing or unknown type', async (t) => {
      for (const type of [undefined, 'nope', 'PING', '__proto__', 'toString', 'constructor', 5, null, ['ping']]) {
        const result = badFrame(t, decode(codec, wire(codec, { type, id: 3 })))
        t.same(paths(result), ['type'], String(type))
        t.equal(result.id, 3, 'answers with the id')
      }
    })

    t.test('refuses each ill-typed field, naming its path', async (t) => {
      const base = {
        connect: { type: 'connect', id: 1, token: 't' },
        subscribe: { type: 'subscribe', id: 1, channel: 'room:a' },
        publish: { type: 'publish', id: 1, channel: 'room:a', data: 1 },
        ack: { type: 'ack', channel: 'room:a', seq: 1 },
        history: { type: 'history', id: 1, channel: 'room:a' },
        ping: { type: 'ping', id: 1 },
      }
      const cases: [object, string][] = [
        ...[0, -1, 1.5, '1', 2 ** 53, null, undefined].map((id): [object, string] => [{ ...base.ping, id }, 'id']),
        ...[
          '', 'nocolon', 'Room:a', '1room:a', 'room:', ':a', 'room:a b', 'room:a\n', 'room:\u0000', 'room:\u007f',
          'room:\u0085', 'room:a\u00a0b', 'room:a\u2028', 'room:\ud800', `room:${'x'.repeat(196)}`, 5, null,
        ].map((channel): [object, string] => [{ ...base.subscribe, channel }, 'channel']),
        [{ ...base.subscribe, since: { epoch: '', seq: 0 } }, 'since.epoch'],
        [{ ...base.subscribe, since: { epoch: 'e'.repeat(65), seq: 0 } }, 'since.epoch'],
        [{ ...base.subscribe, since: { epoch: 1, seq: 0 } }, 'since.epoch'],
        [{ ...base.subscribe, since: { epoch: 'e', seq: -1 } }, 'since.seq'],
        [{ ...base.subscribe, since: { epoch: 'e', seq: 1.5 } }, 'since.seq'],
        [{ ...base.subscribe, since: { epoch: 'e' } }, 'since.seq'],
        [{ ...base.subscribe, since: 'e:1' }, 'since'],
        [{ type: 'publish', id: 1, channel: 'room:a' }, 'data'],
        [{ ...base.publish, key: 'k'.repeat(129) }, 'key'],
        [{ ...base.publish, key: '' }, 'key'],
        [{ ...base.publish, key: 5 }, 'key'],
        [{ ...base.ack, seq: -1 }, 'seq'],
        [{ ...base.ack, seq: '1' }, 'seq'],
        [{ type: 'ack', channel: 'room:a' }, 'seq'],
        [{ ...base.history, limit: 0 }, 'limit'],
        [{ ...base.history, limit: 101 }, 'limit'],
        [{ ...base.history, limit: 2.5 }, 'limit'],
        [{ ...base.history, before: 0 }, 'before'],
        [{ ...base.history, before: -3 }, 'before'],
        [{ ...base.connect, token: '' }, 'token'],
        [{ ...base.connect, token: 't'.repeat(8193) }, 'token'],
        [{ ...base.connect, token: 5 }, 'token'],
        [{ type: 'refresh', id: 1 }, 'token'],
        [{ ...base.connect, client: 'sdk' }, 'client'],
        [{ ...base.connect, client: { name: 'n'.repeat(101) } }, 'client.name'],
        [{ ...base.connect, client: { version: 'v'.repeat(51) } }, 'client.version'],
        [{ type: 'unsubscribe', id: 1 }, 'channel'],
        [{ type: 'presence', id: 1, channel: 'nope' }, 'channel'],
      ]
      for (const [frame, path] of cases) {
        const result = badFrame(t, decode(codec, wire(codec, frame)))
        t.same(paths(result), [path], `${label(frame)} → ${path}`)
        t.ok(result.error.details?.every((detail) => detail.message.length > 0))
      }
    })

    t.test('recovers the id of a bad frame when it is a valid positive integer', async (t) => {
      t.equal(badFrame(t, decode(codec, wire(codec, { type: 'subscribe', id: 42, channel: 'bad' }))).id, 42)
      t.equal(badFrame(t, decode(codec, wire(codec, { type: 'nope', id: 43 }))).id, 43)
      t.equal(badFrame(t, decode(codec, wire(codec, { type: 'publish', id: 44, channel: 'a:b', data: nested(40) }))).id, 44)
      for (const id of [0, -1, 1.5, '7', 2 ** 53, null]) {
        t.equal(badFrame(t, decode(codec, wire(codec, { type: 'subscribe', id, channel: 'bad' }))).id, undefined, String(id))
      }
    })

    t.test('refuses an own __proto__ key anywhere, and pollutes nothing', async (t) => {
      const frames = [
        { type: 'ping', id: 1, ['__proto__']: { polluted: 'yes' } },
        { type: 'publish', id: 1, channel: 'a:b', data: { a: [{ ['__proto__']: { polluted: 'yes' } }] } },
      ]
      const expected = ['__proto__', 'data.a.0.__proto__']
      frames.forEach((frame, index) => {
        const result = badFrame(t, decode(codec, wire(codec, frame)))
        if (codec.binary) {
          t.equal(result.id, undefined, 'the MessagePack decoder itself refuses the key, before any id is read')
        } else {
          t.same(paths(result), [expected[index]])
          t.equal(result.id, 1)
        }
        t.equal(({} as Record<string, unknown>)['polluted'], undefined)
      })
    })

    t.test('refuses a constructor holding a prototype', async (t) => {
      const frame = { type: 'publish', id: 1, channel: 'a:b', data: { x: { constructor: { prototype: { polluted: 1 } } } } }
      const result = badFrame(t, decode(codec, wire(codec, frame)))
      t.same(paths(result), ['data.x.constructor'])
      const harmless = { type: 'publish', id: 1, channel: 'a:b', data: { constructor: 'x', y: { constructor: {} } } }
      t.ok(decode(codec, wire(codec, harmless)).ok, 'a constructor key without a prototype is fine')
    })

    t.test(`refuses nesting deeper than ${MAX_NESTING_DEPTH} levels without overflowing the stack`, async (t) => {
      const frame = (depth: number) => ({ type: 'publish', id: 1, channel: 'a:b', data: nested(depth) })
      t.ok(decode(codec, wire(codec, frame(MAX_NESTING_DEPTH - 1))).ok, 'the limit itself is fine')
      const result = badFrame(t, decode(codec, wire(codec, frame(MAX_NESTING_DEPTH))))
      t.match(paths(result)[0], /^data(\.0)+$/)
      const huge = 200_000
      // {"type":"ping","id":1,"x":[[[...]]]}: fixarray(1) headers, then an empty fixarray.
      const msgpack = Buffer.concat([
        Buffer.from([0x83, 0xa4, ...Buffer.from('type'), 0xa4, ...Buffer.from('ping'), 0xa2, 0x69, 0x64, 0x01, 0xa1, 0x78]),
        Buffer.alloc(huge, 0x91),
        Buffer.from([0x90]),
      ])
      const input: Wire = codec.binary
        ? { raw: msgpack, isBinary: true }
        : text(`{"type":"ping","id":1,"x":${'['.repeat(huge)}${']'.repeat(huge)}}`)
      t.equal(badFrame(t, decode(codec, input)).id, 1)
    })
  })
}

t.test('decodeClientFrame (json) › sees keys spelled with \\u escapes', async (t) => {
  const proto = text('{"type":"ping","id":1,"\\u005f_proto__":{"polluted":1}}')
  t.same(paths(badFrame(t, decode(jsonCodec, proto))), ['__proto__'])
  const ctor = text('{"type":"publish","id":1,"channel":"a:b","data":{"\\u0063onstructor":{"prototype":{}}}}')
  t.same(paths(badFrame(t, decode(jsonCodec, ctor))), ['data.constructor'])
  t.ok(decode(jsonCodec, text('{"type":"publish","id":1,"channel":"a:b","data":"caf\\u00e9"}')).ok)
})

t.test('decodeClientFrame (msgpack) › refuses what JSON cannot carry', async (t) => {
  const publish = (data: unknown) => ({ type: 'publish', id: 1, channel: 'a:b', data })
  const cases: [unknown, string][] = [
    [{ at: new Date(0) }, 'timestamp extension'],
    [new ExtData(5, new Uint8Array([1, 2])), 'custom extension'],
    [{ blob: new Uint8Array([1, 2, 3]) }, 'bin'],
    [[Number.NaN], 'NaN'],
    [{ x: Number.POSITIVE_INFINITY }, 'Infinity'],
  ]
  for (const [data, name] of cases) {
    const result = badFrame(t, decode(msgpackCodec, wire(msgpackCodec, publish(data))))
    t.ok(result.error.message.length > 0, name)
  }
  // {"type":"ping","id":1, 1:"x"}: an integer map key.
  const intKey = bytes(0x83, 0xa4, ...Buffer.from('type'), 0xa4, ...Buffer.from('ping'), 0xa2, 0x69, 0x64, 0x01, 0x01, 0xa1, 0x78)
  badFrame(t, decode(msgpackCodec, intKey))
  // {"type":"ping","id":1, [1]:"x"}: an array as map key.
  const arrayKey = bytes(0x83, 0xa4, ...Buffer.from('type'), 0xa4, ...Buffer.from('ping'), 0xa2, 0x69, 0x64, 0x01, 0x91, 0x01, 0xa1, 0x78)
  badFrame(t, decode(msgpackCodec, arrayKey))
})
