import t, { type Test } from 'tap'
import { decode as msgpackDecode } from '@msgpack/msgpack'
import { SwitchboardError } from '../../src/errors.js'
import type { Codec } from '../../src/protocol/codec.js'
import { jsonCodec } from '../../src/protocol/json-codec.js'
import { msgpackCodec } from '../../src/protocol/msgpack-codec.js'
import { serverFrames, wire } from './fixtures/frames.js'

/** Asserts that `decode` throws a BAD_FRAME SwitchboardError and returns that error's cause. */
function throwsBadFrame(t: Test, decode: () => unknown): unknown {
  try {
    decode()
  } catch (error) {
    t.type(error, SwitchboardError)
    t.equal((error as SwitchboardError).code, 'BAD_FRAME')
    return (error as SwitchboardError).cause
  }
  t.fail('expected decode to throw')
  return undefined
}

/** Decodes what `codec` encoded, as the receiving side would. */
function roundTrip(codec: Codec, frame: object): unknown {
  const encoded = codec.encode(frame)
  return codec.decode(Buffer.from(encoded), codec.binary)
}

t.test('jsonCodec', async (t) => {
  t.test('is the text codec of switchboard.v1.json', async (t) => {
    t.match(jsonCodec, { name: 'json', subprotocol: 'switchboard.v1.json', binary: false })
    t.ok(Object.isFrozen(jsonCodec))
  })

  t.test('encodes every server frame as JSON text that decodes to the same object', async (t) => {
    for (const frame of serverFrames) {
      const encoded = jsonCodec.encode(frame)
      t.type(encoded, 'string')
      t.same(roundTrip(jsonCodec, frame), frame, frame.type)
    }
  })

  t.test('refuses binary frames and unparseable text', async (t) => {
    throwsBadFrame(t, () => jsonCodec.decode(Buffer.from('{"type":"ping","id":1}'), true))
    t.type(throwsBadFrame(t, () => jsonCodec.decode(Buffer.from('{"type":'), false)), SyntaxError, 'keeps the cause')
  })
})

t.test('msgpackCodec', async (t) => {
  t.test('is the binary codec of switchboard.v1.msgpack', async (t) => {
    t.match(msgpackCodec, { name: 'msgpack', subprotocol: 'switchboard.v1.msgpack', binary: true })
    t.ok(Object.isFrozen(msgpackCodec))
  })

  t.test('encodes every server frame as bytes that decode to the same object', async (t) => {
    for (const frame of serverFrames) {
      t.type(msgpackCodec.encode(frame), Uint8Array)
      t.same(roundTrip(msgpackCodec, frame), frame, frame.type)
    }
  })

  t.test('leaves undefined fields out, as JSON does', async (t) => {
    const frame = { type: 'error', id: undefined, code: 'INTERNAL', message: 'x' }
    const decoded = msgpackDecode(msgpackCodec.encode(frame) as Uint8Array) as object
    t.notOk('id' in decoded)
    t.same(decoded, JSON.parse(jsonCodec.encode(frame) as string))
  })

  t.test('refuses text frames and unparseable bytes', async (t) => {
    throwsBadFrame(t, () => msgpackCodec.decode(Buffer.from(msgpackCodec.encode({ type: 'ping', id: 1 })), false))
    throwsBadFrame(t, () => msgpackCodec.decode(Buffer.from([0xc1]), true))
    throwsBadFrame(t, () => msgpackCodec.decode(Buffer.alloc(0), true))
  })

  t.test('decodes a frame that is a slice of a larger buffer', async (t) => {
    const encoded = msgpackCodec.encode({ type: 'ping', id: 5 }) as Uint8Array
    const pool = Buffer.concat([Buffer.from([0xc1, 0xc1]), Buffer.from(encoded), Buffer.from([0xc1])])
    t.same(msgpackCodec.decode(pool.subarray(2, 2 + encoded.byteLength), true), { type: 'ping', id: 5 })
  })

  t.test('bounds declared lengths by the frame size, so a small frame cannot expand', async (t) => {
    const claims = {
      array32: [0xdd, 0xff, 0xff, 0xff, 0xff],
      map32: [0xdf, 0xff, 0xff, 0xff, 0xff],
      str32: [0xdb, 0x7f, 0xff, 0xff, 0xff],
      bin32: [0xc6, 0x7f, 0xff, 0xff, 0xff],
      array16: [0xdc, 0x10, 0x00],
    }
    for (const [name, header] of Object.entries(claims)) {
      const cause = throwsBadFrame(t, () => msgpackCodec.decode(Buffer.from(header), true))
      t.match(String(cause), /Max length exceeded/, name)
    }
  })

  t.test('refuses a __proto__ key and never changes a prototype', async (t) => {
    const raw = Buffer.from(msgpackCodec.encode({ type: 'ping', id: 1, ['__proto__']: { polluted: 1 } }))
    t.match(String(throwsBadFrame(t, () => msgpackCodec.decode(raw, true))), /__proto__/)
    const deep = Buffer.from(msgpackCodec.encode({ a: [{ b: { ['__proto__']: { polluted: 1 } } }] }))
    throwsBadFrame(t, () => msgpackCodec.decode(deep, true))
    t.equal(({} as Record<string, unknown>)['polluted'], undefined)
  })

  t.test('refuses extension types, the built-in timestamp included', async (t) => {
    t.match(String(throwsBadFrame(t, () => msgpackCodec.decode(wire(msgpackCodec, new Date(0)).raw, true))), /extension type -1/)
    throwsBadFrame(t, () => msgpackCodec.decode(Buffer.from([0xd4, 0x05, 0x01]), true))
    throwsBadFrame(t, () => msgpackCodec.decode(Buffer.from([0xc7, 0x00, 0x07]), true))
  })

  t.test('refuses map keys that are not strings', async (t) => {
    for (const key of [[0x01], [0xc0], [0xc3], [0xcb, 0, 0, 0, 0, 0, 0, 0, 0], [0x90], [0x80]]) {
      throwsBadFrame(t, () => msgpackCodec.decode(Buffer.from([0x81, ...key, 0x01]), true))
    }
  })
})
