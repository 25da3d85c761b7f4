import { SwitchboardError } from '../errors.js'

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second, continuously (0: the bucket never refills). */
  ratePerSecond: number
  /** Size of the bucket: the most tokens it holds, and the burst it allows. Must be > 0. */
  burst: number
  /** Monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number
}

/** Tokens within this of a whole count are treated as whole, so float drift never refuses a take. */
const EPSILON = 1e-9

/**
 * A token bucket rate limiter: it starts full with `burst` tokens and refills at `ratePerSecond`.
 * Refill is computed lazily from the time elapsed since the last call (no timers), so an idle
 * bucket costs nothing. Used for per-connection publish limits and, through
 * {@link KeyedTokenBuckets}, per-IP handshake limits. A clock that goes backwards adds nothing.
 * @throws SwitchboardError `CONFIG_INVALID` when `ratePerSecond` is negative or not finite, or
 *   `burst` is not a positive finite number.
 */
export class TokenBucket {
  /** Tokens added per second. */
  readonly ratePerSecond: number
  /** Capacity of the bucket. */
  readonly burst: number
  readonly #now: () => number
  #tokens: number
  #last: number

  constructor(options: TokenBucketOptions) {
    assertRate(options.ratePerSecond, options.burst)
    this.ratePerSecond = options.ratePerSecond
    this.burst = options.burst
    this.#now = options.now ?? (() => performance.now())
    this.#tokens = options.burst
    this.#last = this.#now()
  }

  /**
   * Takes `count` tokens (default 1) when that many are available and returns true; otherwise
   * takes nothing and returns false. A `count` above `burst` can never succeed.
   * @throws RangeError when `count` is not a positive finite number.
   */
  take(count = 1): boolean {
    if (!(count > 0) || !Number.isFinite(count)) throw new RangeError(`TokenBucket.take: count must be a positive number, got ${count}`)
    this.#refill()
    if (this.#tokens + EPSILON < count) return false
    this.#tokens = Math.max(0, this.#tokens - count)
    return true
  }

  /** Tokens available now (refilled up to the current time; may be fractional). */
  get tokens(): number {
    this.#refill()
    return this.#tokens
  }

  /** Whether the bucket is full again, i.e. forgetting it would change nothing. */
  get full(): boolean {
    return this.tokens + EPSILON >= this.burst
  }

  /** Milliseconds until `count` tokens (default 1) are available: 0 when they are now, `Infinity` when never. */
  msUntil(count = 1): number {
    const missing = count - this.tokens
    if (missing <= EPSILON) return 0
    if (count > this.burst || this.ratePerSecond === 0) return Infinity
    return Math.ceil((missing * 1000) / this.ratePerSecond)
  }

  #refill(): void {
    const now = this.#now()
    const elapsed = now - this.#last
    this.#last = now
    if (elapsed > 0 && this.#tokens < this.burst) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1000)
    }
  }
}

/** Options of {@link KeyedTokenBuckets}. */
export interface KeyedTokenBucketsOptions extends TokenBucketOptions {
  /** Most keys tracked at once; past it the least recently used key is forgotten. Default 100000. */
  maxKeys?: number
}

/**
 * One {@link TokenBucket} per key (e.g. per client IP), with bounded memory and no timers.
 *
 * Keys are kept in least-recently-used order. On every `take`, buckets at the old end that are
 * full again are dropped (a full bucket is the same as no bucket, so this changes no decision);
 * the check stops at the first bucket that is not full, so its cost is amortised O(1). When a
 * flood of distinct keys still reaches `maxKeys`, the least recently used key is forgotten even
 * if its bucket is not full: that key starts over with a full bucket, which costs at most one
 * extra burst, while memory stays bounded.
 * @throws SwitchboardError `CONFIG_INVALID` for a bad rate or burst (see {@link TokenBucket}) or
 *   a `maxKeys` that is not a positive integer.
 */
export class KeyedTokenBuckets {
  /** Most keys tracked at once. */
  readonly maxKeys: number
  readonly #ratePerSecond: number
  readonly #burst: number
  readonly #now: () => number
  readonly #buckets = new Map<string, TokenBucket>()

  constructor(options: KeyedTokenBucketsOptions) {
    assertRate(options.ratePerSecond, options.burst)
    const maxKeys = options.maxKeys ?? 100_000
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new SwitchboardError('CONFIG_INVALID', `KeyedTokenBuckets: maxKeys must be a positive integer, got ${maxKeys}`)
    }
    this.maxKeys = maxKeys
    this.#ratePerSecond = options.ratePerSecond
    this.#burst = options.burst
    this.#now = options.now ?? (() => performance.now())
  }

  /**
   * Takes `count` tokens (default 1) from `key`'s bucket, creating a full one for a new key.
   * Returns whether they were available.
   * @throws RangeError when `count` is not a positive finite number.
   */
  take(key: string, count = 1): boolean {
    let bucket = this.#buckets.get(key)
    if (bucket) {
      this.#buckets.delete(key)
    } else {
      bucket = new TokenBucket({ ratePerSecond: this.#ratePerSecond, burst: this.#burst, now: this.#now })
    }
    this.#dropIdle()
    while (this.#buckets.size >= this.maxKeys) this.#dropOldest()
    this.#buckets.set(key, bucket)
    return bucket.take(count)
  }

  /** Number of keys tracked now. */
  get size(): number {
    return this.#buckets.size
  }

  /** Drops every bucket that is full again, wherever it is; returns how many were dropped. */
  sweep(): number {
    let dropped = 0
    for (const [key, bucket] of this.#buckets) {
      if (bucket.full) {
        this.#buckets.delete(key)
        dropped++
      }
    }
    return dropped
  }

  /** Forgets every key. */
  clear(): void {
    this.#buckets.clear()
  }

  #dropIdle(): void {
    for (const [key, bucket] of this.#buckets) {
      if (!bucket.full) return
      this.#buckets.delete(key)
    }
  }

  #dropOldest(): void {
    const oldest = this.#buckets.keys().next()
    if (!oldest.done) this.#buckets.delete(oldest.value)
  }
}

function assertRate(ratePerSecond: number, burst: number): void {
  if (!(ratePerSecond >= 0) || !Number.isFinite(ratePerSecond)) {
    throw new SwitchboardError('CONFIG_INVALID', `token bucket: ratePerSecond must be a finite number >= 0, got ${ratePerSecond}`)
  }
  if (!(burst > 0) || !Number.isFinite(burst)) {
    throw new SwitchboardError('CONFIG_INVALID', `token bucket: burst must be a finite number > 0, got ${burst}`)
  }
}
