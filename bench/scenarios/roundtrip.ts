import { sleep } from '../lib/clock.js'
import { LoadGroup } from '../load/load-group.js'
import type { TargetName } from '../targets/target-config.js'
import { measureWindow, prime, round } from './window.js'

/** A step's p99 above this (ms) ends the stepping: the rate is not held. */
export const HELD_P99_MS = 100

/** One offered rate of a publish round-trip run. */
export interface RoundtripStep {
  /** Offered publishes per second (all connections together). */
  offered: number
  /** Publishes acknowledged per second during the window. */
  acked: number
  p50Ms: number
  p99Ms: number
  /** Publishes refused (error replies such as OVERLOADED) during the window. */
  refused: number
  /** Server CPU time (process tree) per acknowledged publish, µs. */
  serverCpuPerPublishUs: number
  serverCores: number
  loadCores: number
  /** CPU of the database server's process tree (PostgreSQL, persisted runs on this machine), in cores. */
  databaseCores?: number
  /** acked ≥ 95% of offered, p99 ≤ {@link HELD_P99_MS}, refusals ≤ 1%. */
  held: boolean
}

/** How one round-trip run is set up. */
export interface RoundtripRun {
  target: TargetName
  url: string
  serverPids: number[]
  /** Switchboard: publish to persisted `stored:` channels. */
  persisted?: boolean
  connections: number
  rooms: number
  /** Offered publishes per second, ascending. */
  steps: number[]
  warmupMs: number
  windowMs: number
  /** Load worker processes. Default 2. */
  workers?: number
  /** Processes measured apart from the server (the PostgreSQL server's tree), reported as `databaseCores`. */
  sidecarPids?: number[]
  /**
   * After the first rate not held, rates between it and the last rate held are tried this many
   * times, each halving the gap (see {@link refinedRate}), so the highest rate held is not
   * understated by up to a whole step. Default 0.
   */
  refinements?: number
}

/** What one round-trip run measured. */
export interface RoundtripResult {
  connections: number
  rooms: number
  steps: RoundtripStep[]
  /** Highest offered step held (0 when none). */
  highestHeld: number
  /** p99 at that step (ms). */
  p99AtHighestMs: number
  /** Runs this result is the best of (see {@link betterRoundtripRun}); 1 when absent. */
  passes?: number
  /** Rates tried between the first rate not held and the last one held (see `RoundtripRun.refinements`); absent when none were allowed. */
  refinements?: number
}

/**
 * The better of two runs of the same target and setup: the one that held the higher rate, then
 * the lower p99 there. Every target gets the same number of runs (in turns, for the ephemeral
 * comparison), so a slow spell of the shared machine does not decide a figure alone.
 */
export function betterRoundtripRun(a: RoundtripResult | undefined, b: RoundtripResult): RoundtripResult {
  if (a === undefined) return b
  if (a.highestHeld !== b.highestHeld) return a.highestHeld > b.highestHeld ? a : b
  return b.p99AtHighestMs < a.p99AtHighestMs ? b : a
}

/** Refined rates are multiples of this (publishes/s). */
export const REFINED_RATE_UNIT = 500

/**
 * The rate to try between `held` and `notHeld` (offered publishes/s): their midpoint, rounded to
 * a multiple of {@link REFINED_RATE_UNIT}; undefined when that is one of them (the gap is too
 * small to split).
 */
export function refinedRate(held: number, notHeld: number): number | undefined {
  const mid = Math.round((held + notHeld) / 2 / REFINED_RATE_UNIT) * REFINED_RATE_UNIT
  return mid > Math.min(held, notHeld) && mid < Math.max(held, notHeld) ? mid : undefined
}

/** Longest wait for the acknowledgements of a step not held to stop arriving (ms). */
const DRAIN_LIMIT_MS = 20_000

/**
 * Waits until no acknowledgement arrived for 300 ms (a step not held leaves a backlog on the
 * server, which would otherwise be counted in the next step), at most {@link DRAIN_LIMIT_MS}.
 */
async function drained(group: LoadGroup): Promise<void> {
  const until = Date.now() + DRAIN_LIMIT_MS
  while (Date.now() < until) {
    await group.mark()
    await sleep(300)
    if ((await group.collect()).acks === 0) return
  }
}

/**
 * Scenario 2: `connections` connections (no subscribers, so the publish path alone is
 * measured) publish 200-byte messages to `rooms` rooms at stepped offered rates, each publish
 * acknowledged (Switchboard's `published`, after the commit on persisted channels; a Socket.IO
 * ack; the bare server's `a<id>`). Stepping stops at the first step not held (see
 * {@link RoundtripStep.held}); with `refinements`, rates between it and the last one held are
 * tried next, once the backlog of the step not held has drained. The steps are returned in
 * ascending order of offered rate. With `shared`, runs on that load group (several runs may share one) instead of its own.
 */
export async function runRoundtrip(run: RoundtripRun, shared?: LoadGroup): Promise<RoundtripResult> {
  const group = shared ?? (await LoadGroup.start(run.workers ?? 2, 'roundtrip'))
  try {
    const opened = await group.open({ target: run.target, urls: [run.url], total: run.connections, layout: { kind: 'none' }, persisted: run.persisted ?? false })
    if (opened.failed > 0) throw new Error(`round trip: ${opened.failed} connections failed: ${opened.firstError}`)
    const rooms = Array.from({ length: run.rooms }, (_, i) => `r${i}`)
    await prime(
      [group],
      () => group.publish({ rate: Math.min(1_000, run.steps[0] ?? 1_000), rooms, ack: true }),
      () => group.stopPublish(),
      ([w]) => w!.acks > 0 && w!.acks >= 0.9 * w!.sent,
    )
    const steps: RoundtripStep[] = []
    let lastHeld: number | undefined
    let notHeld: number | undefined
    for (const offered of run.steps) {
      const step = await measureStep(run, group, rooms, offered)
      steps.push(step)
      if (!step.held) {
        notHeld = offered
        break
      }
      lastHeld = offered
    }
    for (let i = 0; i < (run.refinements ?? 0) && lastHeld !== undefined && notHeld !== undefined; i++) {
      const offered = refinedRate(lastHeld, notHeld)
      if (offered === undefined) break
      await drained(group)
      const step = await measureStep(run, group, rooms, offered)
      steps.push(step)
      if (step.held) lastHeld = offered
      else notHeld = offered
    }
    steps.sort((a, b) => a.offered - b.offered)
    const best = steps.filter(s => s.held).at(-1)
    return {
      connections: run.connections,
      rooms: run.rooms,
      steps,
      highestHeld: best?.offered ?? 0,
      p99AtHighestMs: best?.p99Ms ?? 0,
      ...(run.refinements ? { refinements: run.refinements } : {}),
    }
  } finally {
    await group.closeAll()
    if (!shared) await group.stop()
  }
}

/** Offers `offered` publishes/s, measures one window, stops, and lets the server settle. */
async function measureStep(run: RoundtripRun, group: LoadGroup, rooms: string[], offered: number): Promise<RoundtripStep> {
  await group.publish({ rate: offered, rooms, ack: true })
  await sleep(run.warmupMs)
  const window = await measureWindow(run.serverPids, [group], run.windowMs, run.sidecarPids)
  await group.stopPublish()
  const w = window.groups[0]!
  const seconds = window.ms / 1000
  const acked = w.acks / seconds
  const p99 = w.ack.percentile(99)
  await sleep(Math.min(3_000, 300 + p99))
  return {
    offered,
    acked: Math.round(acked),
    p50Ms: round(w.ack.percentile(50)),
    p99Ms: round(p99),
    refused: w.refused,
    serverCpuPerPublishUs: w.acks > 0 ? round(window.serverCpuMicros / w.acks, 2) : 0,
    serverCores: round(window.serverCpuMicros / 1e6 / seconds),
    loadCores: round(w.cpuMicros / 1e6 / seconds),
    ...(run.sidecarPids?.length ? { databaseCores: round(window.sidecarCpuMicros / 1e6 / seconds) } : {}),
    held: acked >= 0.95 * offered && p99 <= HELD_P99_MS && w.refused <= 0.01 * w.sent,
  }
}
