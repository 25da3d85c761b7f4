import { startTarget, type RunningTarget } from '../targets/target.js'
import type { SwitchboardTargetConfig } from '../targets/target-config.js'
import { runFanout, type FanoutResult } from './fanout.js'
import { REDIS_URL, deleteRedisPrefix, redisPrefix, redisServerPid } from './services.js'

/** A cluster layout compared in scenario 6. */
export type ClusterLayout = 'one-node-memory' | 'one-node-redis' | 'two-nodes-redis'

/** Scenario 6's result per layout. */
export type TwoNodesResult = Partial<Record<ClusterLayout, FanoutResult>>

/** Options of {@link runTwoNodes}. */
export interface TwoNodesRun {
  layouts: ClusterLayout[]
  roomSize: number
  steps: number[]
  warmupMs: number
  windowMs: number
}

/**
 * Scenario 6: the fan-out of scenario 1 on Switchboard, one room, for each layout: one node on
 * memory engines (the baseline), one node through Redis (RedisBroker and RedisSequencer), and
 * two nodes through Redis with the subscribers split between them and the publisher on the
 * first. Server CPU sums both nodes; the Redis server's CPU is reported apart (it may also
 * serve other work on a shared machine).
 */
export async function runTwoNodes(run: TwoNodesRun): Promise<TwoNodesResult> {
  const result: TwoNodesResult = {}
  const redisPid = await redisServerPid()
  for (const layout of run.layouts) {
    const prefix = redisPrefix()
    const config: SwitchboardTargetConfig =
      layout === 'one-node-memory' ? { engines: 'memory' } : { engines: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix }
    const nodes: RunningTarget[] = []
    try {
      const count = layout === 'two-nodes-redis' ? 2 : 1
      for (let i = 0; i < count; i++) nodes.push(await startTarget('switchboard', { switchboard: config, label: `switchboard-${layout}-${i}` }))
      result[layout] = await runFanout({
        target: 'switchboard',
        urls: nodes.map(n => n.url),
        serverPids: nodes.map(n => n.pid),
        ...(layout !== 'one-node-memory' && redisPid !== undefined ? { sidecarPids: [redisPid] } : {}),
        roomSize: run.roomSize,
        steps: run.steps,
        warmupMs: run.warmupMs,
        windowMs: run.windowMs,
      })
    } finally {
      await Promise.all(nodes.map(n => n.child.stop()))
      if (layout !== 'one-node-memory') await deleteRedisPrefix(prefix).catch(() => {})
    }
  }
  return result
}
