/** The HS256 secret every target and the load generator share (bench only). */
export const BENCH_JWT_SECRET = 'switchboard-bench-secret-not-for-production'

/** How a Switchboard node under test runs (passed to switchboard-server.ts as `BENCH_TARGET` JSON). */
export interface SwitchboardTargetConfig {
  /** `memory`: memory engines. `prisma`: PrismaMessageStore on PostgreSQL. `redis`: RedisBroker and RedisSequencer (two-node runs). */
  engines: 'memory' | 'prisma' | 'redis'
  /** PostgreSQL URL (prisma engines). */
  databaseUrl?: string
  /** PostgreSQL schema, already migrated (prisma engines). */
  schema?: string
  /** Redis URL (redis engines). */
  redisUrl?: string
  /** Redis key prefix (redis engines). */
  redisPrefix?: string
  /** Server heartbeat interval (ms). Default Switchboard's (25000). */
  heartbeatMs?: number
}

/** The targets every comparison runs. */
export const TARGETS = ['ws', 'socketio', 'switchboard'] as const

/** One of {@link TARGETS}. */
export type TargetName = (typeof TARGETS)[number]
