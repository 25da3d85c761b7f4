import pg from 'pg'
import { Redis } from 'ioredis'

/** Versions of the PostgreSQL and Redis servers the run uses ('unavailable' when unreachable). */
export async function serviceVersions(databaseUrl: string, redisUrl: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = { postgresql: 'unavailable', redis: 'unavailable' }
  const client = new pg.Client({ connectionString: databaseUrl })
  client.on('error', () => {})
  try {
    await client.connect()
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    versions['postgresql'] = rows[0]?.server_version ?? 'unknown'
  } catch {
    // Reported as unavailable; the scenarios needing it fail with their own error.
  } finally {
    await client.end().catch(() => {})
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    versions['redis'] = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown'
  } catch {
    // As above.
  } finally {
    redis.disconnect()
  }
  return versions
}
