import { execFileSync } from 'node:child_process'
import type { BenchPlan, ScenarioName } from '../plan.js'
import type { BenchResults, PerTarget } from '../report/results.js'
import { compareFanout } from '../report/summary.js'
import { LoadGroup } from '../load/load-group.js'
import { stopAll } from '../lib/procs.js'
import { startTarget } from '../targets/target.js'
import { TARGETS } from '../targets/target-config.js'
import { runCatchup } from './catchup.js'
import { bestOfRuns, runFanout, startFanoutGroups, type FanoutGroups, type FanoutResult } from './fanout.js'
import { runIdleMemory, runMaxConnections, type IdleMemoryResult } from './memory.js'
import { fastestPgFloor } from './pg-floor.js'
import { betterRoundtripRun, runRoundtrip, type RoundtripResult } from './roundtrip.js'
import { DATABASE_URL, createSchema, dropSchema, postgresServerPid } from './services.js'
import { runTwoNodes } from './two-nodes.js'

type Results = Omit<BenchResults, 'summary' | 'targets'>

function log(message: string): void {
  console.error(`bench:   ${message}`)
}

/** Runs scenario `name` with the sizes of `plan` and stores its results in `results`. */
export async function runScenario(name: ScenarioName, plan: BenchPlan, results: Results): Promise<void> {
  switch (name) {
    case 'fanout':
      return fanout(plan, results)
    case 'roundtrip':
      return roundtrip(plan, results)
    case 'memory':
      return memory(plan, results)
    case 'catchup':
      return catchup(plan, results)
    case 'maxconn':
      return maxconn(plan, results)
    case 'twonode':
      return twonode(plan, results)
  }
}

async function fanout(plan: BenchPlan, results: Results): Promise<void> {
  const byRoomSize: Record<string, PerTarget<FanoutResult>> = {}
  results.fanout = { byRoomSize, comparison: [] }
  const groups = await startFanoutGroups()
  try {
    for (const roomSize of plan.fanout.roomSizes) await fanoutRoom(plan, results, roomSize, groups)
  } finally {
    await stopAll([...groups.subscribers.workers, ...groups.publisher.workers])
  }
}

async function fanoutRoom(plan: BenchPlan, results: Results, roomSize: number, groups: FanoutGroups): Promise<void> {
  const perTarget: PerTarget<FanoutResult> = (results.fanout!.byRoomSize[roomSize] = {})
  const runs = new Map<string, FanoutResult[]>()
  const { passes, ...settings } = plan.fanout
  // Targets take turns (ws, Socket.IO, Switchboard, then again), so a slow spell of the machine meets each of them once at most.
  for (let pass = 1; pass <= passes; pass++) {
    for (const name of TARGETS) {
      const target = await startTarget(name)
      try {
        const result = await runFanout({ target: name, urls: [target.url], serverPids: [target.pid], roomSize, ...settings }, groups)
        runs.set(name, [...(runs.get(name) ?? []), result])
        const label = passes > 1 ? `${name} room ${roomSize} (pass ${pass} of ${passes})` : `${name} room ${roomSize}`
        log(`${label}: ${result.steps.map(s => `${s.offered / 1000}k→${(s.delivered / 1000).toFixed(1)}k p99 ${s.p99Ms} ms ${s.serverCpuPerDeliveryUs} µs${s.keptUp ? '' : ' (not kept up)'}`).join(', ')}`)
      } finally {
        await target.child.stop()
      }
    }
  }
  for (const [name, list] of runs) perTarget[name as keyof typeof perTarget] = list.length > 1 ? bestOfRuns(list) : list[0]!
  results.fanout!.comparison.push(compareFanout(roomSize, perTarget))
}

async function roundtrip(plan: BenchPlan, results: Results): Promise<void> {
  const ephemeral: PerTarget<RoundtripResult> = {}
  const persisted: PerTarget<RoundtripResult> = {}
  results.roundtrip = { ephemeral, persisted }
  const settings = { connections: plan.roundtrip.connections, rooms: plan.roundtrip.rooms, steps: plan.roundtrip.steps, warmupMs: plan.roundtrip.warmupMs, windowMs: plan.roundtrip.windowMs, refinements: plan.roundtrip.refinements ?? 0 }
  const describe = (r: RoundtripResult): string => r.steps.map(s => `${s.offered / 1000}k→${(s.acked / 1000).toFixed(1)}k p99 ${s.p99Ms} ms${s.held ? '' : ' (not held)'}`).join(', ')
  const group = await LoadGroup.start(2, 'roundtrip')
  try {
    await roundtripRuns(plan, results, group, settings, describe)
  } finally {
    await group.stop()
  }
}

async function roundtripRuns(
  plan: BenchPlan,
  results: Results,
  group: LoadGroup,
  settings: { connections: number; rooms: number; steps: number[]; warmupMs: number; windowMs: number; refinements: number },
  describe: (r: RoundtripResult) => string,
): Promise<void> {
  const { ephemeral, persisted } = results.roundtrip!
  const ephemeralPasses = plan.roundtrip.ephemeralPasses
  // Targets take turns, as in fan-out; each keeps its better run.
  for (let pass = 1; pass <= ephemeralPasses; pass++) {
    for (const name of TARGETS) {
      const target = await startTarget(name)
      try {
        const run = await runRoundtrip({ target: name, url: target.url, serverPids: [target.pid], ...settings }, group)
        ephemeral[name] = betterRoundtripRun(ephemeral[name], { ...run, passes: ephemeralPasses })
        log(`${name} ephemeral${ephemeralPasses > 1 ? ` (pass ${pass} of ${ephemeralPasses})` : ''}: ${describe(run)}`)
      } finally {
        await target.child.stop()
      }
    }
  }
  const schema = await createSchema()
  try {
    const passes = plan.roundtrip.persistedPasses
    for (let pass = 1; pass <= passes; pass++) {
      const target = await startTarget('switchboard', { switchboard: { engines: 'prisma', databaseUrl: DATABASE_URL, schema }, label: 'switchboard-prisma' })
      try {
        const postgres = await postgresServerPid()
        const run = await runRoundtrip(
          { target: 'switchboard', url: target.url, serverPids: [target.pid], persisted: true, ...(postgres === undefined ? {} : { sidecarPids: [postgres] }), ...settings },
          group,
        )
        persisted.switchboard = betterRoundtripRun(persisted.switchboard, { ...run, passes })
        log(`switchboard persisted${passes > 1 ? ` (pass ${pass} of ${passes})` : ''}: ${describe(run)}`)
      } finally {
        await target.child.stop()
      }
    }
    const tuned = plan.roundtrip.tunedNodeFlags
    if (tuned) {
      const target = await startTarget('switchboard', {
        switchboard: { engines: 'prisma', databaseUrl: DATABASE_URL, schema },
        label: 'switchboard-prisma-tuned',
        nodeFlags: tuned,
      })
      try {
        const postgres = await postgresServerPid()
        const run = await runRoundtrip(
          { target: 'switchboard', url: target.url, serverPids: [target.pid], persisted: true, ...(postgres === undefined ? {} : { sidecarPids: [postgres] }), ...settings },
          group,
        )
        results.roundtrip!.persistedTuned = { ...run, nodeFlags: tuned }
        log(`switchboard persisted, node ${tuned.join(' ')}: ${describe(run)}`)
      } finally {
        await target.child.stop()
      }
    }
    const floor = await fastestPgFloor(schema, plan.roundtrip.pgFloorRows, plan.roundtrip.pgFloorPasses)
    results.roundtrip!.pgFloor = floor
    log(`bare pg floor: ${floor.rowsPerSecond} rows/s`)
  } finally {
    await dropSchema(schema)
  }
}

async function memory(plan: BenchPlan, results: Results): Promise<void> {
  const perTarget: PerTarget<IdleMemoryResult> = {}
  results.memory = perTarget
  for (const name of TARGETS) {
    perTarget[name] = await runIdleMemory({ target: name, connections: plan.memory.connections })
    const r = perTarget[name]!
    log(`${name}: ${r.connections} connections, RSS ${(r.rssPerConnection / 1024).toFixed(1)} KB/conn, heap ${(r.heapPerConnection / 1024).toFixed(1)} KB/conn`)
  }
}

async function catchup(plan: BenchPlan, results: Results): Promise<void> {
  const schema = await createSchema()
  try {
    results.catchup = await runCatchup(schema, plan.catchup.messages, plan.catchup.runs)
    log(`${results.catchup.received} of ${results.catchup.expected} replayed in ${results.catchup.ms} ms: ${results.catchup.messagesPerSecond} msgs/s${(results.catchup.runs?.length ?? 1) > 1 ? ` (fastest of ${results.catchup.runs!.join(', ')})` : ''}`)
  } finally {
    await dropSchema(schema)
  }
}

async function maxconn(plan: BenchPlan, results: Results): Promise<void> {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim())
  results.maxConnections = await runMaxConnections(plan.maxconn.attempts, plan.maxconn.heartbeatMs, plan.maxconn.windowMs, limit, plan.maxconn.connectBudgetMs)
  const r = results.maxConnections
  log(`held ${r.held} of ${r.attempted} attempted (stopped by ${r.stoppedBy}; file limit ${limit}), RSS ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB, ${r.cpuPerConnectionHeartbeatUs} µs CPU per connection heartbeat`)
}

async function twonode(plan: BenchPlan, results: Results): Promise<void> {
  const fanoutRun = results.fanout?.byRoomSize[String(plan.twonode.roomSize)]?.switchboard
  const sameSteps = plan.twonode.steps.every(step => plan.fanout.steps.includes(step)) && plan.twonode.windowMs === plan.fanout.windowMs
  const baseline = plan.twonode.reuseFanoutBaseline && sameSteps ? fanoutRun : undefined
  const layouts = baseline ? plan.twonode.layouts.filter(layout => layout !== 'one-node-memory') : plan.twonode.layouts
  if (baseline) log('one node on memory engines: taken from scenario 1')
  const measured = await runTwoNodes({ ...plan.twonode, layouts })
  results.twoNodes = baseline ? { 'one-node-memory': baseline, ...measured } : measured
  results.twoNodesBaselineFromFanout = baseline !== undefined
  for (const [layout, r] of Object.entries(results.twoNodes)) {
    log(`${layout}: ${r.steps.map(s => `${s.offered / 1000}k→${(s.delivered / 1000).toFixed(1)}k p99 ${s.p99Ms} ms ${s.serverCpuPerDeliveryUs} µs${s.keptUp ? '' : ' (not kept up)'}`).join(', ')}`)
  }
}
