import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { Redis } from 'ioredis'
import { SwitchboardError, type Logger } from '@switchboard/core'

/** A reachable Redis, possibly started by this process. */
export interface RedisHandle {
  /** Stops the `redis-server` this process started, if any. */
  stop(): Promise<void>
}

/**
 * Makes sure Redis answers at `url`. When nothing answers, `url` is on this machine and
 * `redis-server` is on the PATH, starts one (no persistence: nothing durable lives in Redis).
 * @throws SwitchboardError `CONFIG_INVALID` with one line saying what is missing and how to get it.
 */
export async function ensureRedis(url: string, logger: Logger): Promise<RedisHandle> {
  if (await answers(url)) return { stop: async () => {} }
  const { hostname, port } = new URL(url)
  const local = hostname === '127.0.0.1' || hostname === 'localhost'
  const binary = findOnPath('redis-server')
  if (!local || !binary) {
    throw new SwitchboardError(
      'CONFIG_INVALID',
      `REDIS_URL=${JSON.stringify(url)}: nothing answers there${local ? ' and redis-server is not on the PATH: install it (apt-get install redis-server, brew install redis)' : ''} or set REDIS_URL to a running Redis`,
    )
  }
  const child = spawn(binary, ['--port', port || '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  child.on('error', err => logger.error({ err }, 'redis-server failed'))
  for (let i = 0; i < 50 && !(await answers(url)); i++) await new Promise(resolve => setTimeout(resolve, 100))
  if (!(await answers(url))) throw new SwitchboardError('CONFIG_INVALID', `redis-server started but does not answer at ${url}`)
  logger.info({ url }, 'started redis-server for this node (no persistence)')
  return { stop: () => stopChild(child) }
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      continue
    }
  }
  return undefined
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  child.kill('SIGTERM')
  await once(child, 'exit')
}
