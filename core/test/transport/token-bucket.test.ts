import t from 'tap'
import { KeyedTokenBuckets, TokenBucket } from '../../src/transport/token-bucket.js'

/** A manual clock in milliseconds. */
function manualClock(start = 1_000) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
    set(ms: number) {
      now = ms
    },
  }
}

t.test('TokenBucket', async t => {
  t.test('starts full and allows a burst of `burst` takes', async t => {
    const clock = manualClock()
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, now: clock.now })
    t.equal(bucket.tokens, 5)
    t.ok(bucket.full)
    for (let i = 0; i < 5; i++) t.ok(bucket.take(), `take ${i + 1}`)
    t.notOk(bucket.take(), 'the sixth take is refused')
    t.notOk(bucket.full)
  })

  t.test('refills lazily from elapsed time, at ratePerSecond', async t => {
    const clock = manualClock()
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, now: clock.now })
    for (let i = 0; i < 5; i++) bucket.take()
    clock.advance(99)
    t.notOk(bucket.take(), 'less than one token after 99 ms')
    clock.advance(1)
    t.ok(bucket.take(), 'one token after 100 ms')
    t.notOk(bucket.take())
    clock.advance(250)
    t.ok(bucket.take())
    t.ok(bucket.take())
    t.notOk(bucket.take(), 'two and a half tokens allow two takes')
  })

  t.test('never holds more than burst', async t => {
    const clock = manualClock()
    const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 3, now: clock.now })
    bucket.take()
    clock.advance(60_000)
    t.equal(bucket.tokens, 3)
    for (let i = 0; i < 3; i++) t.ok(bucket.take())
    t.notOk(bucket.take())
  })

  t.test('take(count) is all or nothing', async t => {
    const clock = manualClock()
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 4, now: clock.now })
    t.ok(bucket.take(3))
    t.notOk(bucket.take(2), 'refused with one token left')
    t.equal(bucket.tokens, 1, 'a refused take takes nothing')
    t.ok(bucket.take(1))
    t.notOk(bucket.take(5), 'more than burst can never succeed')
  })

  t.test('does not lose tokens to floating-point drift', async t => {
    const clock = manualClock(0)
    const bucket = new TokenBucket({ ratePerSecond: 3, burst: 1, now: clock.now })
    t.ok(bucket.take())
    let granted = 0
    for (let i = 0; i < 300; i++) {
      clock.advance(1000 / 3)
      if (bucket.take()) granted++
    }
    t.equal(granted, 300, 'one token every 1/3 s, exactly')
  })

  t.test('a clock going backwards adds nothing', async t => {
    const clock = manualClock(10_000)
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, now: clock.now })
    t.ok(bucket.take())
    clock.set(5_000)
    t.notOk(bucket.take())
    clock.advance(100)
    t.ok(bucket.take(), 'refill resumes from the new reading')
  })

  t.test('with ratePerSecond 0 it never refills', async t => {
    const clock = manualClock()
    const bucket = new TokenBucket({ ratePerSecond: 0, burst: 2, now: clock.now })
    t.ok(bucket.take(2))
    clock.advance(1e9)
    t.notOk(bucket.take())
    t.equal(bucket.msUntil(), Infinity)
  })

  t.test('msUntil tells how long until tokens are available', async t => {
    const clock = manualClock()
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 2, now: clock.now })
    t.equal(bucket.msUntil(), 0)
    bucket.take(2)
    t.equal(bucket.msUntil(), 250)
    t.equal(bucket.msUntil(2), 500)
    t.equal(bucket.msUntil(3), Infinity, 'more than burst')
    clock.advance(250)
    t.equal(bucket.msUntil(), 0)
  })

  t.test('uses a real monotonic clock by default', async t => {
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 })
    t.ok(bucket.take())
    t.notOk(bucket.take())
  })

  t.test('rejects bad options with CONFIG_INVALID and bad counts with RangeError', async t => {
    for (const options of [
      { ratePerSecond: -1, burst: 1 },
      { ratePerSecond: Number.NaN, burst: 1 },
      { ratePerSecond: Infinity, burst: 1 },
      { ratePerSecond: 1, burst: 0 },
      { ratePerSecond: 1, burst: -3 },
    ]) {
      t.throws(() => new TokenBucket(options), { name: 'SwitchboardError', code: 'CONFIG_INVALID' }, JSON.stringify(options))
    }
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 })
    t.throws(() => bucket.take(0), RangeError)
    t.throws(() => bucket.take(-1), RangeError)
    t.throws(() => bucket.take(Number.NaN), RangeError)
  })
})

t.test('KeyedTokenBuckets', async t => {
  t.test('keeps one bucket per key', async t => {
    const clock = manualClock()
    const buckets = new KeyedTokenBuckets({ ratePerSecond: 1, burst: 2, now: clock.now })
    t.ok(buckets.take('10.0.0.1'))
    t.ok(buckets.take('10.0.0.1'))
    t.notOk(buckets.take('10.0.0.1'), 'the first key is exhausted')
    t.ok(buckets.take('10.0.0.2'), 'another key has its own full bucket')
    clock.advance(1000)
    t.ok(buckets.take('10.0.0.1'), 'and the first one refills')
  })

  t.test('forgets buckets that are full again, so idle keys cost no memory', async t => {
    const clock = manualClock()
    const buckets = new KeyedTokenBuckets({ ratePerSecond: 10, burst: 10, now: clock.now })
    for (let i = 0; i < 100; i++) buckets.take(`ip-${i}`)
    t.equal(buckets.size, 100)
    clock.advance(1000)
    buckets.take('newcomer')
    t.equal(buckets.size, 1, 'the 100 refilled buckets were dropped on the next take')
  })

  t.test('keeps a bucket that is still refilling, so forgetting never resets a limit early', async t => {
    const clock = manualClock()
    const buckets = new KeyedTokenBuckets({ ratePerSecond: 1, burst: 2, now: clock.now })
    buckets.take('a', 2)
    clock.advance(1500)
    for (let i = 0; i < 10; i++) buckets.take(`other-${i}`)
    t.notOk(buckets.take('a', 2), '1.5 tokens, not a fresh bucket')
    t.ok(buckets.take('a'))
  })

  t.test('stays within maxKeys under a flood of distinct keys', async t => {
    const clock = manualClock()
    const buckets = new KeyedTokenBuckets({ ratePerSecond: 1, burst: 5, maxKeys: 1000, now: clock.now })
    for (let i = 0; i < 50_000; i++) {
      buckets.take(`flood-${i}`)
      if (buckets.size > 1000) t.fail(`size ${buckets.size} after ${i + 1} keys`)
    }
    t.equal(buckets.size, 1000)
  })

  t.test('past maxKeys it forgets the least recently used key', async t => {
    const clock = manualClock()
    const buckets = new KeyedTokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 2, now: clock.now })
    t.ok(buckets.take('a'))
    t.ok(buckets.take('b'))
    t.notOk(buckets.take('a'), 'a is used again, so b is now the oldest')
    t.ok(buckets.take('c'), 'c pushes b out')
    t.equal(buckets.size, 2)
    t.notOk(buckets.take('a'), 'a was kept, still empty')
    t.ok(buckets.take('b'), 'b was forgotten and starts full')
  })

  t.test('sweep() drops every full bucket wherever it is', async t => {
    const clock = manualClock()
    const buckets = new KeyedTokenBuckets({ ratePerSecond: 1, burst: 2, now: clock.now })
    buckets.take('busy', 2)
    buckets.take('light')
    clock.advance(1000)
    t.equal(buckets.sweep(), 1, 'light is full again; busy has one token of two')
    t.equal(buckets.size, 1)
    buckets.clear()
    t.equal(buckets.size, 0)
  })

  t.test('rejects a bad maxKeys with CONFIG_INVALID', async t => {
    for (const maxKeys of [0, -1, 1.5]) {
      t.throws(
        () => new KeyedTokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys }),
        { name: 'SwitchboardError', code: 'CONFIG_INVALID' },
        String(maxKeys),
      )
    }
  })
})
