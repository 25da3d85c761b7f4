import t from 'tap'
import { jsonCodec } from '../../src/protocol/json-codec.js'
import { msgpackCodec } from '../../src/protocol/msgpack-codec.js'
import { CODECS, DEFAULT_CODEC, SUBPROTOCOLS, codecByName, selectCodec } from '../../src/protocol/subprotocols.js'

t.test('subprotocols', async (t) => {
  t.test('lists JSON first, then MessagePack', async (t) => {
    t.same(SUBPROTOCOLS, ['switchboard.v1.json', 'switchboard.v1.msgpack'])
    t.same(CODECS, [jsonCodec, msgpackCodec])
    t.equal(DEFAULT_CODEC, jsonCodec)
  })

  t.test('selectCodec › speaks JSON when the client offers nothing', async (t) => {
    t.equal(selectCodec([]), jsonCodec)
    t.equal(selectCodec(new Set()), jsonCodec)
  })

  t.test('selectCodec › picks the codec the client offered', async (t) => {
    t.equal(selectCodec(['switchboard.v1.json']), jsonCodec)
    t.equal(selectCodec(new Set(['switchboard.v1.msgpack'])), msgpackCodec)
  })

  t.test("selectCodec › follows the client's order of preference", async (t) => {
    t.equal(selectCodec(['switchboard.v1.msgpack', 'switchboard.v1.json']), msgpackCodec)
    t.equal(selectCodec(['switchboard.v1.json', 'switchboard.v1.msgpack']), jsonCodec)
    t.equal(selectCodec(['chat', 'switchboard.v1.msgpack', 'switchboard.v1.json']), msgpackCodec, 'skipping unknown ones')
    t.equal(selectCodec([' switchboard.v1.msgpack ']), msgpackCodec, 'after trimming whitespace')
  })

  t.test('selectCodec › answers undefined when none of ours is offered, so the handshake is refused', async (t) => {
    t.equal(selectCodec(['chat']), undefined)
    t.equal(selectCodec(['switchboard.v2.json', 'switchboard.v1.xml']), undefined)
    t.equal(selectCodec(['SWITCHBOARD.V1.JSON']), undefined, 'names are case-sensitive')
  })

  t.test('codecByName › finds each codec', async (t) => {
    t.equal(codecByName('json'), jsonCodec)
    t.equal(codecByName('msgpack'), msgpackCodec)
  })
})
