/**
 * A fixed-bucket latency histogram that merges across processes: 50 µs buckets below 100 ms,
 * 1 ms buckets from 100 ms to 10 s, and one overflow bucket. Percentiles are accurate to the
 * bucket width, plenty for p50/p99 comparisons between targets measured the same way.
 */
export class Histogram {
  /** Buckets below 100 ms (50 µs each). */
  static readonly FINE = 2_000
  /** Total bucket count (fine + 1 ms buckets to 10 s + overflow). */
  static readonly SIZE = Histogram.FINE + 9_900 + 1
  readonly counts = new Uint32Array(Histogram.SIZE)
  count = 0
  sum = 0
  max = 0

  /** Records one latency in ms (negative values, from clock jitter, count as 0). */
  record(ms: number): void {
    const v = ms < 0 ? 0 : ms
    let index: number
    if (v < 100) index = Math.floor(v * 20)
    else index = Math.min(Histogram.SIZE - 1, Histogram.FINE + Math.floor(v - 100))
    this.counts[index]! += 1
    this.count += 1
    this.sum += v
    if (v > this.max) this.max = v
  }

  /** Adds every sample of `other` (for example one worker's histogram) to this one. */
  merge(other: Histogram | SerializedHistogram): void {
    if (other instanceof Histogram) {
      for (let i = 0; i < Histogram.SIZE; i++) this.counts[i]! += other.counts[i]!
    } else {
      for (const [index, n] of other.buckets) this.counts[index]! += n
    }
    this.count += other.count
    this.sum += other.sum
    this.max = Math.max(this.max, other.max)
  }

  /** The latency (ms, upper edge of its bucket) below which `p` (0..100) percent of samples fall; 0 when empty. */
  percentile(p: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil((p / 100) * this.count)
    let seen = 0
    for (let i = 0; i < Histogram.SIZE; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return i < Histogram.FINE ? (i + 1) / 20 : 100 + (i - Histogram.FINE + 1)
    }
    return this.max
  }

  /** Mean latency in ms (0 when empty). */
  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count
  }

  /** Clears every sample. */
  reset(): void {
    this.counts.fill(0)
    this.count = 0
    this.sum = 0
    this.max = 0
  }

  /** A compact, IPC-friendly copy (only non-empty buckets). */
  serialize(): SerializedHistogram {
    const buckets: [number, number][] = []
    for (let i = 0; i < Histogram.SIZE; i++) if (this.counts[i] !== 0) buckets.push([i, this.counts[i]!])
    return { buckets, count: this.count, sum: this.sum, max: this.max }
  }
}

/** {@link Histogram} as sent between processes. */
export interface SerializedHistogram {
  buckets: [number, number][]
  count: number
  sum: number
  max: number
}
