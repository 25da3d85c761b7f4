import type { MachineInfo } from '../lib/machine.js'
import type { CatchupResult } from '../scenarios/catchup.js'
import type { FanoutResult } from '../scenarios/fanout.js'
import type { IdleMemoryResult, MaxConnectionsResult } from '../scenarios/memory.js'
import type { PgFloorResult } from '../scenarios/pg-floor.js'
import type { RoundtripResult } from '../scenarios/roundtrip.js'
import type { TwoNodesResult } from '../scenarios/two-nodes.js'
import type { TargetName } from '../targets/target-config.js'

/** Per-target results of a comparison. */
export type PerTarget<T> = Partial<Record<TargetName, T>>

/** The comparable keys of a run (the names); ratios are Switchboard ÷ peer. */
export interface Summary {
  fanout_cpu_per_delivery_vs_ws: number | null
  fanout_cpu_per_delivery_vs_socketio: number | null
  fanout_p99_vs_ws: number | null
  memory_per_conn_vs_ws: number | null
  memory_per_conn_vs_socketio: number | null
  persisted_publishes_per_s: number | null
  /** p99 at 20,000 persisted publishes/s offered; at the highest rate held when 20,000/s was not held (see `persistedP99`). */
  persisted_p99_ms: number | null
  persisted_vs_pg_floor: number | null
  catchup_msgs_per_s: number | null
  max_connections: number | null
}

/** A summary figure against its target from the issue. */
export interface TargetCheck {
  key: keyof Summary
  label: string
  value: number | null
  /** `<=`: lower is better; `>=`: higher is better. */
  op: '<=' | '>='
  target: number
  met: boolean | null
  /** How far past the target a missed figure is, as a fraction (0.25 = 25% worse than the target). */
  missedBy: number | null
}

/** The fan-out comparison at one room size: ratios at the highest step every target kept up with. */
export interface FanoutComparison {
  roomSize: number
  /** The offered step compared (deliveries/s), or null when no step was measured for all targets. */
  step: number | null
  /** True when every target kept up at `step`; false when the comparison fell back to the lowest step. */
  allKeptUp: boolean
  cpuVsWs: number | null
  cpuVsSocketio: number | null
  p99VsWs: number | null
  /**
   * Switchboard ÷ bare ws p99 with each target's lowest p99 over its runs at `step` (see
   * `FanoutStep.lowestP99OfRunsMs`); absent with one run each. Information beside `p99VsWs`, not in the summary.
   */
  p99VsWsLowestOfRuns?: number | null
  /** Socket.IO ÷ bare ws CPU per delivery (the issue measured 1.75–1.96 before the project started). */
  socketioCpuVsWs: number | null
}

/** Everything one run measured: bench/results/latest.json. */
export interface BenchResults {
  generatedAt: string
  /** The commit measured (`git rev-parse --short HEAD`), `+changes` when the tree had uncommitted changes; absent outside a git checkout. */
  commit?: string
  mode: 'full' | 'quick'
  /** Scenarios run (all unless `--only`). */
  scenarios: string[]
  durationSec: number
  machine: MachineInfo
  /** Errors of scenarios that failed (the run goes on with the others). */
  errors: Record<string, string>
  /**
   * CPU steal in percent of the machine's CPU time (see `stealPercent`): over the whole run and
   * per scenario. Absent where `/proc/stat` has no steal column.
   */
  steal?: { run: number; byScenario: Record<string, number> }
  fanout?: { byRoomSize: Record<string, PerTarget<FanoutResult>>; comparison: FanoutComparison[] }
  roundtrip?: {
    ephemeral: PerTarget<RoundtripResult>
    persisted: PerTarget<RoundtripResult>
    pgFloor?: PgFloorResult
    /** One more persisted run with the server started with `nodeFlags` (docs/operations.md's throughput setting); not in the summary. */
    persistedTuned?: RoundtripResult & { nodeFlags: string[] }
  }
  memory?: PerTarget<IdleMemoryResult>
  catchup?: CatchupResult
  maxConnections?: MaxConnectionsResult
  twoNodes?: TwoNodesResult
  /** True when scenario 6's one-node baseline is scenario 1's Switchboard run (quick runs), not a run of its own. */
  twoNodesBaselineFromFanout?: boolean
  summary: Summary
  targets: TargetCheck[]
}
