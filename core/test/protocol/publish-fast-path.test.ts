import fc from 'fast-check'
import t from 'tap'
import { decodeClientFrame } from '../../src/protocol/decode-frame.js'
import { clientFrameSchemas } from '../../src/protocol/frames.js'
import { jsonCodec } from '../../src/protocol/json-codec.js'

// `publish` frames are checked by hand on the hot path; the schema stays the contract. Both
// must agree on every input: the same frame out when valid, a refusal when not.
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<T> => ({ weight, arbitrary })
const near = fc.record({
  type: fc.constant('publish'),
  id: fc.oneof(w(6, fc.integer({ min: 1, max: 1_000_000 })), w(1, fc.integer({ min: -2, max: 0 })), w(1, fc.constantFrom(2 ** 53, 1.5, '1', null, undefined))),
  channel: fc.oneof(
    w(6, fc.constantFrom('room:lobby', 'a:b', 'dm:alice:bob', `room:${'x'.repeat(195)}`)),
    w(2, fc.constantFrom('Room:x', 'room:', 'room:a b', ':x', 'room:\u0007', `room:${'x'.repeat(196)}`, undefined)),
    w(1, fc.string({ maxLength: 12 })),
    w(1, fc.integer()),
  ),
  data: fc.oneof(w(8, fc.jsonValue({ maxDepth: 3 })), w(1, fc.constant(undefined))),
  key: fc.oneof(w(4, fc.constant(undefined)), w(4, fc.string({ minLength: 1, maxLength: 20 })), w(1, fc.constantFrom('', 'k'.repeat(128), 'k'.repeat(129), 7))),
  extra: fc.oneof(fc.constant(undefined), fc.string()),
})
  // Prototype-polluting keys are refused before the schema runs (decode-frame's own tests cover them).
  .filter(value => !/__proto__|constructor/.test(JSON.stringify(value)))

t.test('publish fast path › agrees with the publish schema on 20,000 near-valid frames (seed 20261126)', async t => {
  let valid = 0
  let refused = 0
  fc.assert(
    fc.property(near, value => {
      const raw = Buffer.from(JSON.stringify(value))
      const parsed = JSON.parse(raw.toString()) as unknown
      const expected = clientFrameSchemas.publish.safeParse(parsed)
      const decoded = decodeClientFrame(jsonCodec, raw, false)
      if (expected.success) {
        valid += 1
        return decoded.ok && JSON.stringify(decoded.frame) === JSON.stringify(expected.data) && Object.keys(decoded.frame).join() === Object.keys(expected.data).join()
      }
      refused += 1
      return !decoded.ok && decoded.error.code === 'BAD_FRAME'
    }),
    { seed: 20261126, numRuns: 20_000 },
  )
  t.ok(valid > 1_000, `${valid} valid frames`)
  t.ok(refused > 1_000, `${refused} refused frames`)
})
