import t from 'tap'
import { StreamCursor } from '../src/stream-cursor.js'

const E = 'epoch-1'
const m = (seq: number, epoch = E) => ({ seq, epoch })
const seqs = (list: { seq: number }[]) => list.map(x => x.seq)

/** A cursor live after a first subscribe (recovered false, latest `latest`) and `delivered` live messages. */
function live(latest = 0): StreamCursor<{ seq: number; epoch: string }> {
  const cursor = new StreamCursor<{ seq: number; epoch: string }>()
  cursor.subscribeSent()
  cursor.subscribed({ epoch: E, seq: latest, recovered: false })
  cursor.receive(m(latest + 1))
  return cursor
}

t.test('StreamCursor › delivers in order and drops duplicates by seq', async t => {
  const cursor = live(0)
  t.same(seqs(cursor.receive(m(2)).deliver), [2])
  t.same(cursor.receive(m(2)), { deliver: [], fill: false, duplicate: true })
  t.same(cursor.receive(m(1)), { deliver: [], fill: false, duplicate: true })
  t.equal(cursor.lastSeq, 2)
})

t.test('StreamCursor › a gap in live traffic holds later messages, asks for one fill, and releases them in order', async t => {
  const cursor = live(0)
  const gap = cursor.receive(m(4))
  t.same(gap, { deliver: [], fill: true, duplicate: false })
  t.same(cursor.position(), { epoch: E, seq: 1 }, 'the fill resumes after the last delivered')
  cursor.subscribeSent()
  t.equal(cursor.receive(m(5)).fill, false, 'no second fill while one is in flight')
  t.same(cursor.subscribed({ epoch: E, seq: 5, recovered: true }), { deliver: [], lost: false })
  // The replay brings 2 and 3 (and 4, 5 again, dropped).
  t.same(seqs(cursor.receive(m(2)).deliver), [2])
  t.same(seqs(cursor.receive(m(3)).deliver), [3, 4, 5])
  t.equal(cursor.receive(m(4)).duplicate, true)
  t.equal(cursor.heldCount, 0)
})

t.test('StreamCursor › a reordering closed before the fill answers loses nothing', async t => {
  const cursor = live(0)
  t.equal(cursor.receive(m(3)).fill, true)
  cursor.subscribeSent()
  t.same(seqs(cursor.receive(m(2)).deliver), [2, 3])
  // An ephemeral channel cannot recover, but nothing is missing any more.
  t.same(cursor.subscribed({ epoch: E, seq: 3, recovered: false }), { deliver: [], lost: false })
  t.same(seqs(cursor.receive(m(4)).deliver), [4])
})

t.test('StreamCursor › an unrecoverable gap delivers what is held and carries on from the next live message', async t => {
  const cursor = live(0)
  cursor.receive(m(5))
  cursor.subscribeSent()
  const reply = cursor.subscribed({ epoch: E, seq: 7, recovered: false })
  t.same(reply, { deliver: [], lost: true }, 'the app is told messages were lost')
  t.same(seqs(cursor.receive(m(8)).deliver), [5, 8], 'held 5, then live 8')
  t.same(seqs(cursor.receive(m(9)).deliver), [9])
})

t.test('StreamCursor › a first subscribe to a broadcast channel starts after the latest seq', async t => {
  const cursor = new StreamCursor<{ seq: number; epoch: string }>()
  t.same(cursor.resume(), { since: undefined, deliver: [] })
  cursor.subscribeSent()
  t.same(cursor.subscribed({ epoch: E, seq: 10, recovered: false }), { deliver: [], lost: true })
  t.same(seqs(cursor.receive(m(11)).deliver), [11])
  t.same(seqs(cursor.receive(m(12)).deliver), [12])
})

t.test('StreamCursor › a first subscribe to an at-least-once channel takes the replay from the acked cursor, in order', async t => {
  const cursor = new StreamCursor<{ seq: number; epoch: string }>()
  cursor.subscribeSent()
  // A redelivery may overtake the reply: it is held.
  t.same(cursor.receive(m(6)).deliver, [])
  cursor.subscribed({ epoch: E, seq: 7, recovered: false })
  for (const seq of [4, 5, 6]) t.same(cursor.receive(m(seq)).deliver, [], `replayed ${seq} held until the replay ends`)
  t.same(seqs(cursor.receive(m(7)).deliver), [4, 5, 6, 7])
  t.same(seqs(cursor.receive(m(8)).deliver), [8])
})

t.test('StreamCursor › resuming on a new connection', async t => {
  await t.test('after live traffic: since the last delivered', async t => {
    const cursor = live(3)
    t.same(cursor.resume(), { since: { epoch: E, seq: 4 }, deliver: [] })
  })
  await t.test('when nothing arrived after a first reply: afresh, so an at-least-once replay from the acked cursor is not skipped', async t => {
    const cursor = new StreamCursor<{ seq: number; epoch: string }>()
    cursor.subscribeSent()
    cursor.subscribed({ epoch: E, seq: 9, recovered: false })
    // The socket dropped before the replay (from the acked cursor, 6) arrived.
    t.same(cursor.resume(), { since: undefined, deliver: [] })
    cursor.subscribeSent()
    t.same(cursor.subscribed({ epoch: E, seq: 9, recovered: false }), { deliver: [], lost: false }, 'nothing was published meanwhile: nothing lost')
    t.same(seqs(cursor.receive(m(7)).deliver), [])
    t.same(seqs(cursor.receive(m(8)).deliver), [])
    t.same(seqs(cursor.receive(m(9)).deliver), [7, 8, 9], 'the replay from the acked cursor, in order')
    t.same(seqs(cursor.receive(m(10)).deliver), [10])
  })
  await t.test('when nothing arrived after a first reply, on a broadcast channel: a later reply past it reports the loss', async t => {
    const cursor = new StreamCursor<{ seq: number; epoch: string }>()
    cursor.subscribeSent()
    cursor.subscribed({ epoch: E, seq: 9, recovered: false })
    t.same(cursor.resume(), { since: undefined, deliver: [] })
    cursor.subscribeSent()
    t.same(cursor.subscribed({ epoch: E, seq: 12, recovered: false }), { deliver: [], lost: true }, '10 to 12 were published meanwhile')
    t.same(seqs(cursor.receive(m(13)).deliver), [13])
  })
  await t.test('after a replay cut short: deliver what arrived, resume after it', async t => {
    const cursor = new StreamCursor<{ seq: number; epoch: string }>()
    cursor.subscribeSent()
    cursor.subscribed({ epoch: E, seq: 9, recovered: false })
    cursor.receive(m(3))
    cursor.receive(m(4))
    const resumed = cursor.resume()
    t.same(resumed.since, { epoch: E, seq: 4 })
    t.same(seqs(resumed.deliver), [3, 4])
    cursor.subscribeSent()
    t.same(cursor.subscribed({ epoch: E, seq: 9, recovered: true }), { deliver: [], lost: false })
    t.same(seqs(cursor.receive(m(5)).deliver), [5])
  })
})

t.test('StreamCursor › a new epoch restarts numbering and drops what belonged to the old one', async t => {
  const cursor = live(0)
  cursor.receive(m(2))
  // A message of an unknown epoch: held, and a resubscribe asked for.
  t.same(cursor.receive(m(1, 'epoch-2')), { deliver: [], fill: true, duplicate: false })
  cursor.subscribeSent()
  const reply = cursor.subscribed({ epoch: 'epoch-2', seq: 1, recovered: false })
  t.equal(reply.lost, true)
  t.same(seqs(reply.deliver), [1], 'the held message of the new epoch is delivered')
  t.equal(cursor.epoch, 'epoch-2')
  t.same(seqs(cursor.receive(m(2, 'epoch-2')).deliver), [2])
  t.equal(cursor.receive(m(3, E)).fill, true, 'a stale message of the old epoch is not delivered')
})

t.test('StreamCursor › a recovered resume replays behind early redeliveries without asking for a fill', async t => {
  const cursor = live(0)
  cursor.resume()
  cursor.subscribeSent()
  cursor.subscribed({ epoch: E, seq: 6, recovered: true })
  t.same(cursor.receive(m(5)), { deliver: [], fill: false, duplicate: false }, 'inside the replay: wait for it')
  t.same(seqs(cursor.receive(m(2)).deliver), [2])
  t.same(seqs(cursor.receive(m(3)).deliver), [3])
  t.same(seqs(cursor.receive(m(4)).deliver), [4, 5])
  t.same(seqs(cursor.receive(m(6)).deliver), [6])
  t.equal(cursor.receive(m(8)).fill, true, 'past the replay a gap is a gap')
})
