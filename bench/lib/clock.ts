/**
 * A millisecond clock shared by every process on the machine: `CLOCK_MONOTONIC` through
 * `process.hrtime()`, so a timestamp taken by the publisher process can be subtracted from one
 * taken by a receiver process. Fractional (sub-microsecond resolution).
 */
export function nowMs(): number {
  const [s, ns] = process.hrtime()
  return s * 1e3 + ns / 1e6
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
