import t from 'tap'
import type { Codec } from '../../src/protocol/codec.js'
import type { MessageFrame } from '../../src/protocol/frames.js'
import { jsonCodec } from '../../src/protocol/json-codec.js'
import { msgpackCodec } from '../../src/protocol/msgpack-codec.js'
import { PreparedFrame } from '../../src/protocol/prepared-frame.js'

const message: MessageFrame = {
  type: 'message', channel: 'room:lobby', seq: 1, epoch: 'e1', mid: 'm1', from: 'alice', data: { text: 'hi' }, ts: 1,
}

/** A codec that behaves like `codec` and counts its encode calls. */
function counting(codec: Codec): Codec & { calls: number } {
  const spy = {
    ...codec,
    calls: 0,
    encode(frame: object) {
      spy.calls++
      return codec.encode(frame)
    },
  }
  return spy
}

t.test('PreparedFrame', async (t) => {
  t.test('encodes once per codec however many connections send it', async (t) => {
    const json = counting(jsonCodec)
    const msgpack = counting(msgpackCodec)
    const prepared = new PreparedFrame(message)
    t.equal(json.calls + msgpack.calls, 0, 'nothing is encoded up front')
    const sent = new Set<string | Uint8Array>()
    for (let connection = 0; connection < 5000; connection++) {
      sent.add(prepared.encoded(connection % 2 === 0 ? json : msgpack))
    }
    t.equal(json.calls, 1)
    t.equal(msgpack.calls, 1)
    t.equal(sent.size, 2, 'every connection of a codec shares the same encoding')
    t.same(JSON.parse(prepared.encoded(jsonCodec) as string), message)
    t.same(msgpackCodec.decode(Buffer.from(prepared.encoded(msgpackCodec)), true), message)
  })

  t.test('frame › is the wrapped frame', async (t) => {
    t.equal(new PreparedFrame(message).frame, message)
  })

  t.test('fromJson › sends the broker text as is, without encoding or parsing it', async (t) => {
    const textFromBroker = jsonCodec.encode(message) as string
    const json = counting(jsonCodec)
    const prepared = PreparedFrame.fromJson(textFromBroker)
    const parse = t.capture(JSON, 'parse')
    t.equal(prepared.encoded(json), textFromBroker)
    t.equal(json.calls, 0)
    t.equal(parse.args().length, 0)
  })

  t.test('fromJson › parses lazily, once, when another codec needs the frame', async (t) => {
    const prepared = PreparedFrame.fromJson(jsonCodec.encode(message) as string)
    const msgpack = counting(msgpackCodec)
    const first = prepared.encoded(msgpack)
    t.equal(prepared.encoded(msgpack), first)
    t.equal(msgpack.calls, 1)
    t.same(msgpackCodec.decode(Buffer.from(first), true), message)
    t.same(prepared.frame, message)
    t.equal(prepared.frame, prepared.frame, 'the parsed frame is kept')
  })

  t.test('type › is known without parsing when fromJson is told it; otherwise read from the frame', async (t) => {
    // Text that is not JSON: reading `frame` would throw, so `type` must not touch it.
    const told = PreparedFrame.fromJson('{"type":"message",', 'message')
    t.equal(told.type, 'message', 'given type, no parse')
    t.throws(() => told.frame, SyntaxError, 'the text really is not JSON')
    t.equal(PreparedFrame.fromJson(JSON.stringify(message)).type, 'message', 'parsed when not told')
    t.equal(new PreparedFrame({ type: 'pong', id: 3 }).type, 'pong', 'a wrapped frame has its own type')
  })
})
