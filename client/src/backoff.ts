/** Reconnect delay settings. Durations in ms. */
export interface BackoffOptions {
  /** Smallest delay, and the base of the exponential window. Default 500 (as Centrifugo's SDKs). */
  minDelayMs: number
  /** Largest delay. Default 20000 (as Centrifugo's SDKs). */
  maxDelayMs: number
  /** Growth of the window per attempt. Default 2. */
  factor: number
}

/** The defaults of {@link BackoffOptions}: Centrifugo's SDK defaults (500 ms, 20 s, doubling). */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ minDelayMs: 500, maxDelayMs: 20_000, factor: 2 })

/**
 * The delay before retry number `attempt` (0 for the first retry): exponential with full jitter,
 * as Centrifugo's SDKs compute it — `minDelayMs` plus a uniformly random part of the window
 * `minDelayMs × factor^attempt` (the window capped at `maxDelayMs`), the whole capped at
 * `maxDelayMs`. So attempt 0 waits 500–1000 ms, attempt 1 500–1500 ms, attempt 5 500–16500 ms,
 * and every attempt at most 20 s. `random` returns a number in [0, 1) (default `Math.random`).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const { minDelayMs, maxDelayMs, factor } = options
  // Past ~60 doublings the window is infinite anyway; clamp so Math.pow never overflows to NaN.
  const window = Math.min(maxDelayMs, minDelayMs * Math.pow(factor, Math.min(Math.max(0, attempt), 64)))
  return Math.min(maxDelayMs, Math.floor(minDelayMs + random() * window))
}

/**
 * Counts consecutive failures and hands out their delays ({@link backoffDelay}); `reset()`
 * after a success starts again at attempt 0.
 */
export class Backoff {
  private attempt = 0

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  /** The delay before the next retry (ms); counts one more attempt. */
  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random)
  }

  /** Back to attempt 0 (after a success). */
  reset(): void {
    this.attempt = 0
  }
}
