import type { FanoutResult } from '../scenarios/fanout.js'
import type { RoundtripResult } from '../scenarios/roundtrip.js'
import type { BenchResults, FanoutComparison, PerTarget, Summary, TargetCheck } from './results.js'

function ratio(a: number | undefined, b: number | undefined, digits = 3): number | null {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return null
  const f = 10 ** digits
  return Math.round((a / b) * f) / f
}

function mean(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  if (known.length === 0) return null
  return Math.round((known.reduce((s, v) => s + v, 0) / known.length) * 1000) / 1000
}

/**
 * Compares the targets of one room size at the highest offered step all three kept up with
 * (CPU per delivery and p99 at the same offered load); when there is none, at the lowest step
 * all three measured, flagged `allKeptUp: false`.
 */
export function compareFanout(roomSize: number, results: PerTarget<FanoutResult>): FanoutComparison {
  const { ws, socketio, switchboard } = results
  const empty: FanoutComparison = { roomSize, step: null, allKeptUp: false, cpuVsWs: null, cpuVsSocketio: null, p99VsWs: null, socketioCpuVsWs: null }
  if (!ws || !socketio || !switchboard) return empty
  const at = (r: FanoutResult, offered: number) => r.steps.find(s => s.offered === offered)
  const measured = ws.steps.map(s => s.offered).filter(o => at(socketio, o) && at(switchboard, o))
  const kept = measured.filter(o => at(ws, o)!.keptUp && at(socketio, o)!.keptUp && at(switchboard, o)!.keptUp)
  const step = kept.length ? Math.max(...kept) : measured.length ? Math.min(...measured) : undefined
  if (step === undefined) return empty
  const w = at(ws, step)!
  const s = at(socketio, step)!
  const b = at(switchboard, step)!
  return {
    roomSize,
    step,
    allKeptUp: kept.length > 0,
    cpuVsWs: ratio(b.serverCpuPerDeliveryUs, w.serverCpuPerDeliveryUs),
    cpuVsSocketio: ratio(b.serverCpuPerDeliveryUs, s.serverCpuPerDeliveryUs),
    p99VsWs: ratio(b.p99Ms, w.p99Ms),
    ...(b.lowestP99OfRunsMs !== undefined && w.lowestP99OfRunsMs !== undefined ? { p99VsWsLowestOfRuns: ratio(b.lowestP99OfRunsMs, w.lowestP99OfRunsMs) } : {}),
    socketioCpuVsWs: ratio(s.serverCpuPerDeliveryUs, w.serverCpuPerDeliveryUs),
  }
}

/** The `summary` object (the keys, nothing else): fan-out ratios are the mean over room sizes. */
export function summarize(results: Omit<BenchResults, 'summary' | 'targets'>): Summary {
  const comparisons = results.fanout?.comparison ?? []
  const memory = results.memory ?? {}
  const persisted = results.roundtrip?.persisted.switchboard
  const floor = results.roundtrip?.pgFloor
  return {
    fanout_cpu_per_delivery_vs_ws: mean(comparisons.map(c => c.cpuVsWs)),
    fanout_cpu_per_delivery_vs_socketio: mean(comparisons.map(c => c.cpuVsSocketio)),
    fanout_p99_vs_ws: mean(comparisons.map(c => c.p99VsWs)),
    memory_per_conn_vs_ws: ratio(memory.switchboard?.rssPerConnection, memory.ws?.rssPerConnection),
    memory_per_conn_vs_socketio: ratio(memory.switchboard?.rssPerConnection, memory.socketio?.rssPerConnection),
    persisted_publishes_per_s: persisted ? persisted.highestHeld : null,
    persisted_p99_ms: persistedP99(persisted),
    persisted_vs_pg_floor: persisted && floor ? ratio(persisted.highestHeld, floor.rowsPerSecond) : null,
    catchup_msgs_per_s: results.catchup ? results.catchup.messagesPerSecond : null,
    max_connections: results.maxConnections ? results.maxConnections.held : null,
  }
}

/** The target for persisted publishes held per second. */
export const PERSISTED_TARGET_PER_S = 20_000

/**
 * `persisted_p99_ms`: the p99 at the target rate ({@link PERSISTED_TARGET_PER_S} offered), which
 * is what the target "≥ 20,000/s with p99 ≤ 50 ms" asks about, and a fixed load compares across
 * commits where the highest rate held moves with the steps. When that step was not held (or did
 * not run), the p99 at the highest rate held; null when none was held.
 */
export function persistedP99(persisted: RoundtripResult | undefined): number | null {
  if (!persisted || persisted.highestHeld === 0) return null
  const atTarget = persisted.steps.find(s => s.offered === PERSISTED_TARGET_PER_S && s.held)
  return atTarget ? atTarget.p99Ms : persisted.p99AtHighestMs
}

const TARGETS: Omit<TargetCheck, 'value' | 'met' | 'missedBy'>[] = [
  { key: 'fanout_cpu_per_delivery_vs_ws', label: 'Fan-out server CPU per delivery ÷ bare ws', op: '<=', target: 1.2 },
  { key: 'fanout_cpu_per_delivery_vs_socketio', label: 'Fan-out server CPU per delivery ÷ Socket.IO', op: '<=', target: 0.65 },
  { key: 'fanout_p99_vs_ws', label: 'Fan-out p99 ÷ bare ws (same step)', op: '<=', target: 1.3 },
  { key: 'memory_per_conn_vs_ws', label: 'RSS per idle connection ÷ bare ws', op: '<=', target: 1.5 },
  { key: 'memory_per_conn_vs_socketio', label: 'RSS per idle connection ÷ Socket.IO', op: '<=', target: 0.6 },
  { key: 'persisted_publishes_per_s', label: 'Persisted publishes held (per s)', op: '>=', target: PERSISTED_TARGET_PER_S },
  { key: 'persisted_p99_ms', label: `Persisted publish p99 at ${PERSISTED_TARGET_PER_S.toLocaleString('en-US')}/s (ms)`, op: '<=', target: 50 },
  { key: 'persisted_vs_pg_floor', label: 'Persisted publishes ÷ bare pg floor', op: '>=', target: 0.5 },
  { key: 'catchup_msgs_per_s', label: 'Catch-up (messages per s)', op: '>=', target: 100_000 },
]

/** Each summary figure against the target: met or not, and by how much it missed. */
export function checkTargets(summary: Summary): TargetCheck[] {
  return TARGETS.map(t => {
    const value = summary[t.key]
    if (value === null) return { ...t, value, met: null, missedBy: null }
    const met = t.op === '<=' ? value <= t.target : value >= t.target
    const missedBy = met ? null : Math.round((t.op === '<=' ? value / t.target - 1 : 1 - value / t.target) * 1000) / 1000
    return { ...t, value, met, missedBy }
  })
}
