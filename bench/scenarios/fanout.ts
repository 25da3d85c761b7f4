import { sleep } from '../lib/clock.js'
import { LoadGroup } from '../load/load-group.js'
import type { TargetName } from '../targets/target-config.js'
import { measureWindow, prime, round } from './window.js'

/** One offered rate of a fan-out run. */
export interface FanoutStep {
  /** Offered deliveries per second (messages per second × room size). */
  offered: number
  /** Messages published per second. */
  messagesPerSecond: number
  /** Deliveries received per second during the window. */
  delivered: number
  p50Ms: number
  p99Ms: number
  /** Server CPU time (process tree) per delivery, µs. */
  serverCpuPerDeliveryUs: number
  /** Server CPU use during the window, in cores (1 = one core busy). */
  serverCores: number
  /** The load generator's own CPU use during the window, in cores. */
  loadCores: number
  /** delivered ≥ 95% of offered and p99 ≤ {@link KEPT_UP_P99_MS}. */
  keptUp: boolean
  /** CPU of the sidecar processes (the Redis server) per delivery, µs, when measured. */
  sidecarCpuPerDeliveryUs?: number
  /** Connections the server closed during the window, by close code (slow consumers show here). */
  closed?: Record<number, number>
  /**
   * From several runs ({@link bestOfRuns}): the lowest p99 of the runs that kept up at this step,
   * whichever run the step's other figures come from. Reported beside the summary, not in it.
   */
  lowestP99OfRunsMs?: number
}

/** A step's p99 above this (ms) means the server did not keep up, whatever it delivered. */
export const KEPT_UP_P99_MS = 250

/** How one fan-out run is set up. */
export interface FanoutRun {
  target: TargetName
  /** Server URLs; subscribers are spread over them worker by worker, the publisher uses the first. */
  urls: string[]
  /** Root pids of every server process of the run. */
  serverPids: number[]
  roomSize: number
  /** Offered deliveries per second, ascending. Stepping stops after the first step not kept up. */
  steps: number[]
  /** Warm-up before each window (ms). */
  warmupMs: number
  /** Measurement window per step (ms). */
  windowMs: number
  /** Processes whose CPU is reported apart from the servers' (the Redis server). */
  sidecarPids?: number[]
  /** Load workers holding subscribers. Default 2. */
  subscriberWorkers?: number
}

/** What one fan-out run measured. */
export interface FanoutResult {
  roomSize: number
  steps: FanoutStep[]
  /** Highest offered step kept up with (0 when none). */
  highestKeptUp: number
  /** Time to connect and join every subscriber (ms). */
  connectMs: number
  /** Runs this result was taken from, step by step (see {@link bestOfRuns}); 1 when absent. */
  passes?: number
}

/**
 * One result from several runs of the same target and room: per offered step, the run's step
 * that kept up (over one that did not), then the lowest server CPU per delivery, taken whole
 * (its latency and cores with it); steps end at the first one not kept up. Every target of a
 * comparison gets the same number of runs, in turns, so a noisy minute on a shared machine
 * weighs on no single target's figures.
 */
export function bestOfRuns(runs: FanoutResult[]): FanoutResult {
  if (runs.length === 0) throw new Error('bestOfRuns: no runs')
  const offered = [...new Set(runs.flatMap(r => r.steps.map(s => s.offered)))].sort((a, b) => a - b)
  const steps: FanoutStep[] = []
  for (const rate of offered) {
    const candidates = runs.map(r => r.steps.find(s => s.offered === rate)).filter((s): s is FanoutStep => s !== undefined)
    const best = candidates.reduce((a, b) => (a.keptUp !== b.keptUp ? (a.keptUp ? a : b) : b.serverCpuPerDeliveryUs < a.serverCpuPerDeliveryUs ? b : a))
    const keptUpP99s = candidates.filter(s => s.keptUp).map(s => s.p99Ms)
    steps.push(runs.length > 1 && keptUpP99s.length > 0 ? { ...best, lowestP99OfRunsMs: Math.min(...keptUpP99s) } : best)
    if (!best.keptUp) break
  }
  const kept = steps.filter(s => s.keptUp).map(s => s.offered)
  return {
    roomSize: runs[0]!.roomSize,
    steps,
    highestKeptUp: kept.length ? Math.max(...kept) : 0,
    connectMs: Math.min(...runs.map(r => r.connectMs)),
    passes: runs.length,
  }
}

/**
 * Scenario 1 (and 6, with two servers): one publisher, one room of `roomSize` subscribers,
 * 200-byte messages at stepped offered rates. Per step: deliveries/s, p50/p99
 * publish-to-receive latency, server CPU per delivery, and whether the server kept up.
 */
export async function runFanout(run: FanoutRun, groups?: FanoutGroups): Promise<FanoutResult> {
  const own = groups === undefined
  const { subscribers, publisher } = groups ?? (await startFanoutGroups(run.subscriberWorkers))
  try {
    const opened = await subscribers.open({ target: run.target, urls: run.urls, total: run.roomSize, layout: { kind: 'room', room: 'fan' } })
    if (opened.failed > 0) throw new Error(`fan-out: ${opened.failed} of ${run.roomSize} subscribers failed: ${opened.firstError}`)
    await publisher.open({ target: run.target, urls: [run.urls[0]!], total: 1, layout: { kind: 'none' }, firstIndex: 1_000_000 })
    const firstRate = (run.steps[0] ?? 10_000) / run.roomSize
    await prime(
      [subscribers, publisher],
      () => publisher.publish({ rate: firstRate, rooms: ['fan'], ack: false }),
      () => publisher.stopPublish(),
      ([subs, pub]) => subs!.deliveries > 0 && subs!.deliveries >= 0.9 * pub!.sent * run.roomSize,
    )
    const steps: FanoutStep[] = []
    for (const offered of run.steps) {
      const messagesPerSecond = offered / run.roomSize
      await publisher.publish({ rate: messagesPerSecond, rooms: ['fan'], ack: false })
      await sleep(run.warmupMs)
      const window = await measureWindow(run.serverPids, [subscribers, publisher], run.windowMs, run.sidecarPids)
      await publisher.stopPublish()
      const [subs, pub] = window.groups as [typeof window.groups[0], typeof window.groups[0]]
      const seconds = window.ms / 1000
      const delivered = subs.deliveries / seconds
      const p99 = subs.delivery.percentile(99)
      const step: FanoutStep = {
        offered,
        messagesPerSecond: round(messagesPerSecond, 1),
        delivered: Math.round(delivered),
        p50Ms: round(subs.delivery.percentile(50)),
        p99Ms: round(p99),
        serverCpuPerDeliveryUs: subs.deliveries > 0 ? round(window.serverCpuMicros / subs.deliveries, 3) : 0,
        serverCores: round(window.serverCpuMicros / 1e6 / seconds),
        loadCores: round((subs.cpuMicros + pub.cpuMicros) / 1e6 / seconds),
        keptUp: delivered >= 0.95 * offered && p99 <= KEPT_UP_P99_MS,
      }
      if (run.sidecarPids?.length && subs.deliveries > 0) step.sidecarCpuPerDeliveryUs = round(window.sidecarCpuMicros / subs.deliveries, 3)
      if (Object.keys(subs.closed).length > 0) step.closed = subs.closed
      steps.push(step)
      // Let the queues drain before the next step.
      await sleep(Math.min(2_000, 300 + p99))
      if (!step.keptUp) break
    }
    const kept = steps.filter(s => s.keptUp).map(s => s.offered)
    return { roomSize: run.roomSize, steps, highestKeptUp: kept.length ? Math.max(...kept) : 0, connectMs: opened.ms }
  } finally {
    await Promise.all([subscribers.closeAll(), publisher.closeAll()])
    if (own) await Promise.all([subscribers.stop(), publisher.stop()])
  }
}

/** The load processes of fan-out runs; several runs may share them (they close their connections after each run). */
export interface FanoutGroups {
  subscribers: LoadGroup
  publisher: LoadGroup
}

/** Starts the load processes of fan-out runs: `subscriberWorkers` (default 2) for subscribers, one publisher. */
export async function startFanoutGroups(subscriberWorkers = 2): Promise<FanoutGroups> {
  const [subscribers, publisher] = await Promise.all([LoadGroup.start(subscriberWorkers, 'fanout-sub'), LoadGroup.start(1, 'fanout-pub')])
  return { subscribers, publisher }
}
