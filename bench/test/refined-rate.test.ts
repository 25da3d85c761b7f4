import t from 'tap'
import { refinedRate } from '../scenarios/roundtrip.js'

t.test('the rate tried next is the midpoint between the last rate held and the first not held, in whole units', async t => {
  t.equal(refinedRate(25_000, 30_000), 27_500)
  t.equal(refinedRate(25_000, 27_500), 26_500, '26,250 rounds to 26,500')
  t.equal(refinedRate(27_500, 30_000), 29_000, '28,750 rounds to 29,000')
  t.equal(refinedRate(40_000, 50_000), 45_000)
  t.equal(refinedRate(30_000, 25_000), 27_500, 'a rate not held below the one held (a noisy pass) is split the same way')
  t.equal(refinedRate(1_000, 2_500), 2_000, '1,750 rounds to 2,000')
})

t.test('a gap too small to split gives no rate', async t => {
  t.equal(refinedRate(26_500, 27_000), undefined)
  t.equal(refinedRate(26_500, 27_500), 27_000)
  t.equal(refinedRate(27_000, 27_000), undefined)
})
