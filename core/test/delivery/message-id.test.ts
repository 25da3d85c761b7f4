import t from 'tap'
import { newMessageId } from '../../src/delivery/message-id.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('newMessageId › a UUID version 7 whose first 48 bits are the time in ms', async t => {
  const now = Date.UTC(2026, 10, 26, 1, 2, 3, 456)
  const id = newMessageId(now)
  t.match(id, UUID_V7)
  t.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now, 'the timestamp reads back')
  t.match(newMessageId(2 ** 48 - 1), /^ffffffff-ffff-7/, 'the largest 48-bit time')
  t.match(newMessageId(0), /^00000000-0000-7/)
})

t.test('newMessageId › 200,000 ids in one millisecond are all different and well-formed', async t => {
  const ids = new Set<string>()
  let malformed = 0
  for (let i = 0; i < 200_000; i++) {
    const id = newMessageId(1_700_000_000_000)
    if (!UUID_V7.test(id)) malformed += 1
    ids.add(id)
  }
  t.equal(malformed, 0)
  t.equal(ids.size, 200_000)
})

t.test('newMessageId › ids made later sort after earlier ones (by their time prefix)', async t => {
  const a = newMessageId(1_700_000_000_000)
  const b = newMessageId(1_700_000_000_001)
  t.ok(a < b)
})
