import { Redis } from 'ioredis'
import type { Engines, Logger } from '@switchboard/core'
import { BullmqRedeliveryQueue, BullmqRetentionScheduler } from '@switchboard/core/bullmq'
import { PrismaMessageStore, applyMigrations, createPrismaClient } from '@switchboard/core/prisma'
import { RedisBroker, RedisNodeRegistry, RedisPresence, RedisSequencer } from '@switchboard/core/redis'

/** What the engines are built from. */
export interface EngineConfig {
  databaseUrl: string
  redisUrl: string
  redisPrefix: string
  nodeId: string
  /** Presence and node-registry TTL (ms): how long a dead node's entries stay. Default 30000. */
  presenceTtlMs?: number
  /** Whether to apply migrations first (false in cluster workers: the primary did). Default true. */
  migrate?: boolean
  logger: Logger
}

/** The production engines, and what the Switchboard node does not close itself. */
export interface BuiltEngines {
  engines: Engines
  /** Closes the shared Redis client the queue uses (after the node closed its engines). */
  close(): Promise<void>
}

/**
 * Applies the database migrations (unless `migrate` is false), then builds the engines one service shares across nodes:
 * PostgreSQL (Prisma) for messages, cursors and dead letters; Redis for fan-out, presence,
 * ephemeral sequences, redelivery checks and the retention schedule (BullMQ), all under
 * `redisPrefix`.
 */
export async function buildEngines(config: EngineConfig): Promise<BuiltEngines> {
  if (config.migrate !== false) {
    const report = await applyMigrations({ connectionString: config.databaseUrl })
    if (report.applied.length > 0) config.logger.info({ applied: report.applied }, 'database migrations applied')
  }
  const store = new PrismaMessageStore({ client: createPrismaClient({ connectionString: config.databaseUrl }) })
  const prefix = config.redisPrefix
  const queueRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null })
  queueRedis.on('error', err => config.logger.warn({ err }, 'redis (queue) error'))
  return {
    engines: {
      store,
      broker: new RedisBroker({ redis: config.redisUrl, prefix, logger: config.logger }),
      presence: new RedisPresence({ redis: config.redisUrl, prefix, nodeId: config.nodeId, ttlMs: config.presenceTtlMs ?? 30_000, logger: config.logger }),
      nodes: new RedisNodeRegistry({ redis: config.redisUrl, prefix, ttlMs: config.presenceTtlMs ?? 30_000 }),
      sequencer: new RedisSequencer({ redis: config.redisUrl, prefix }),
      queue: new BullmqRedeliveryQueue({ connection: queueRedis, prefix, logger: config.logger }),
      retention: new BullmqRetentionScheduler({ connection: queueRedis, prefix, logger: config.logger }),
    },
    close: async () => {
      await queueRedis.quit().catch(() => queueRedis.disconnect())
    },
  }
}
