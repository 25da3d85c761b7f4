import t from 'tap'
import { Backoff, backoffDelay, DEFAULT_BACKOFF, createClient, SwitchboardClientError } from '../src/index.js'

t.test('backoff › defaults are Centrifugo’s: 500 ms min, 20 s max, factor 2', async t => {
  t.same(DEFAULT_BACKOFF, { minDelayMs: 500, maxDelayMs: 20_000, factor: 2 })
})

t.test('backoff › the schedule: min + random part of min·factor^attempt, capped at max', async t => {
  const low = (attempt: number): number => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0)
  const high = (attempt: number): number => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999)
  // The lowest possible delay is always the minimum.
  for (let attempt = 0; attempt < 40; attempt++) t.equal(low(attempt), 500, `attempt ${attempt} low`)
  // The highest grows with the window (500·2^n) until the 20 s cap.
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 30, 1000].map(high), [999, 1499, 2499, 4499, 8499, 16_499, 20_000, 20_000, 20_000, 20_000])
})

t.test('backoff › full jitter: delays spread over the whole window and stay in bounds', async t => {
  for (const attempt of [0, 3, 8]) {
    const ceiling = Math.min(20_000, 500 + Math.min(20_000, 500 * 2 ** attempt))
    const samples = Array.from({ length: 2000 }, () => backoffDelay(attempt))
    t.ok(samples.every(d => d >= 500 && d <= ceiling && Number.isInteger(d)), `attempt ${attempt}: every delay in [500, ${ceiling}]`)
    // Uniform jitter: each quarter of the window gets a fair share (2000 samples; expected 500 each).
    const width = ceiling - 500
    const quarters = [0, 0, 0, 0]
    for (const d of samples) quarters[Math.min(3, Math.floor(((d - 500) / width) * 4))]! += 1
    t.ok(quarters.every(q => q > 350), `attempt ${attempt}: quarters ${quarters.join('/')} all well filled`)
  }
})

t.test('backoff › custom options and a factor of 1 (constant window)', async t => {
  const options = { minDelayMs: 100, maxDelayMs: 1000, factor: 3 }
  t.same([0, 1, 2, 3].map(a => backoffDelay(a, options, () => 0.999999)), [199, 399, 999, 1000])
  t.same([0, 5, 50].map(a => backoffDelay(a, { minDelayMs: 100, maxDelayMs: 1000, factor: 1 }, () => 0.5)), [150, 150, 150])
})

t.test('backoff › the Backoff counter advances per failure and resets after a success', async t => {
  const backoff = new Backoff(DEFAULT_BACKOFF, () => 0.999999)
  t.same([backoff.next(), backoff.next(), backoff.next()], [999, 1499, 2499])
  t.equal(backoff.attempts, 3)
  backoff.reset()
  t.equal(backoff.next(), 999)
})

t.test('backoff › bad reconnect options fail at createClient with the option, the value and what was expected', async t => {
  const base = { url: 'ws://127.0.0.1:1/ws', getToken: () => 'x', WebSocket: class {} as never }
  const cases: [object, RegExp][] = [
    [{ reconnect: { minDelayMs: 0 } }, /reconnect\.minDelayMs: expected an integer >= 1, got 0/],
    [{ reconnect: { minDelayMs: 1000, maxDelayMs: 10 } }, /reconnect\.maxDelayMs: expected an integer >= 1000, got 10/],
    [{ reconnect: { factor: 0.5 } }, /reconnect\.factor: expected a number >= 1, got 0\.5/],
    [{ url: 'http://x' }, /url: expected a ws:\/\/ or wss:\/\/ URL/],
    [{ getToken: 'abc' }, /getToken: expected a function/],
    [{ WebSocket: undefined }, /WebSocket: expected a WebSocket constructor/],
    [{ ackMode: 'sometimes' }, /ackMode: expected 'auto' or 'manual', got "sometimes"/],
    [{ publishQueueLimit: 0 }, /publishQueueLimit: expected an integer >= 1, got 0/],
  ]
  for (const [extra, message] of cases) {
    t.throws(() => createClient({ ...base, ...extra } as never), { code: 'CONFIG_INVALID', message }, JSON.stringify(extra))
  }
  t.type(new SwitchboardClientError('CONFIG_INVALID', 'x'), Error)
})
