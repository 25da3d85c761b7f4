import type { ClusterLayout } from './scenarios/two-nodes.js'

/** Every scenario, by the name `--only` takes. */
export const SCENARIOS = ['fanout', 'roundtrip', 'memory', 'catchup', 'maxconn', 'twonode'] as const

/** One of {@link SCENARIOS}. */
export type ScenarioName = (typeof SCENARIOS)[number]

/** Sizes, steps and durations of one benchmark run. */
export interface BenchPlan {
  mode: 'full' | 'quick'
  /** `passes`: each target runs every room this many times, in turns; the report keeps each step's best run (see `bestOfRuns`). */
  fanout: { roomSizes: number[]; steps: number[]; warmupMs: number; windowMs: number; passes: number }
  /**
   * `ephemeralPasses`: every target's ephemeral run is made this many times, the targets taking turns;
   * `persistedPasses`: the persisted run likewise. The report keeps each target's run that held the most.
   * `tunedNodeFlags`: when set, one more persisted run with the server started with these flags
   * (reported beside the others, never in the summary).
   * `refinements`: rates tried between the first rate not held and the last one held, each
   * halving the gap (see `RoundtripRun.refinements`); default 0.
   */
  roundtrip: {
    connections: number
    rooms: number
    steps: number[]
    warmupMs: number
    windowMs: number
    pgFloorRows: number
    /** Runs of the bare `pg` floor; the fastest is the floor (the strictest denominator). */
    pgFloorPasses: number
    ephemeralPasses: number
    persistedPasses: number
    refinements?: number
    tunedNodeFlags?: string[]
  }
  memory: { connections: number }
  /** `runs`: replays of the same backlog, one after another; the report keeps the fastest. */
  catchup: { messages: number; runs: number }
  maxconn: { attempts: number; heartbeatMs: number; windowMs: number; /** Starts no connection after this long (ms). */ connectBudgetMs?: number }
  twonode: {
    layouts: ClusterLayout[]
    roomSize: number
    steps: number[]
    warmupMs: number
    windowMs: number
    /** Take the one-node baseline from scenario 1's Switchboard run of the same room size, when it ran with the same steps. */
    reuseFanoutBaseline: boolean
  }
}

/** `npm run bench`: every scenario at full size (about 17 minutes on the 2-core machines; the persisted round trip also runs once with `tunedNodeFlags`). */
export const FULL_PLAN: BenchPlan = {
  mode: 'full',
  fanout: { roomSizes: [1_000, 5_000], steps: [10_000, 20_000, 40_000, 80_000, 160_000], warmupMs: 1_000, windowMs: 4_000, passes: 2 },
  roundtrip: { connections: 1_000, rooms: 100, steps: [1_000, 2_500, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 50_000], warmupMs: 1_000, windowMs: 4_000, pgFloorRows: 200_000, pgFloorPasses: 2, ephemeralPasses: 2, persistedPasses: 2, refinements: 2, tunedNodeFlags: ['--max-semi-space-size=64'] },
  // 19,500: the 20,000 open files of the server process, less its own files and a margin.
  memory: { connections: 19_500 },
  catchup: { messages: 100_000, runs: 3 },
  maxconn: { attempts: 21_000, heartbeatMs: 2_000, windowMs: 6_000 },
  twonode: { layouts: ['one-node-memory', 'one-node-redis', 'two-nodes-redis'], roomSize: 1_000, steps: [10_000, 20_000, 40_000, 80_000], warmupMs: 1_000, windowMs: 4_000, reuseFanoutBaseline: false },
}

/** `npm run bench -- --quick`: the same scenarios, smaller and shorter (under 3 minutes). */
export const QUICK_PLAN: BenchPlan = {
  mode: 'quick',
  // One room size: the fan-out summary ratios are then the 1,000-room figures.
  fanout: { roomSizes: [1_000], steps: [20_000, 40_000], warmupMs: 300, windowMs: 1_500, passes: 1 },
  roundtrip: { connections: 1_000, rooms: 100, steps: [1_000, 5_000, 10_000, 20_000], warmupMs: 300, windowMs: 1_500, pgFloorRows: 50_000, pgFloorPasses: 1, ephemeralPasses: 1, persistedPasses: 1 },
  // 6,000: at 2,000 the fixed costs weighed on each connection (Switchboard 1.92× ws there, 1.21× at 8,000, 1.41× in the full run);
  // 8,000 took 40 s of a 177 s quick run on a machine 2.3× slower than the one the full run was measured on.
  memory: { connections: 6_000 },
  // 2 runs: the first replay of a run is cold (JIT, the database's cache), 81,252 msgs/s where the next two gave 182,474 and 185,759.
  catchup: { messages: 100_000, runs: 2 },
  maxconn: { attempts: 21_000, heartbeatMs: 2_000, windowMs: 3_000, connectBudgetMs: 12_000 },
  twonode: { layouts: ['one-node-memory', 'two-nodes-redis'], roomSize: 1_000, steps: [20_000, 40_000], warmupMs: 300, windowMs: 1_500, reuseFanoutBaseline: true },
}
