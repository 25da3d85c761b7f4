import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { signDevToken } from '@switchboard/core'
import { TestClient } from '@switchboard/core/testing'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { DEV_JWT_SECRET } from '../src/config.js'

const ADMIN_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** A fresh database on the machine's PostgreSQL for one app run, dropped in teardown. */
async function freshDatabase(t: Test): Promise<string> {
  const name = `sb_app_${randomBytes(5).toString('hex')}`
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: ADMIN_URL })
    await client.connect()
    await client.query(sql).finally(() => client.end())
  }
  await admin(`CREATE DATABASE ${name}`)
  t.teardown(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))

/** Deletes every Redis key under `prefix` (the app's keys of one test run). */
async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379')
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      if (keys.length) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** Starts the app as `npm start` does and resolves with its port once it listens. */
async function startApp(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(tsx, ['example-app/src/main.ts'], { cwd: root, env: { ...process.env, PORT: '0', ...env } })
  let output = ''
  child.stderr!.on('data', chunk => (output += chunk))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', chunk => {
      output += chunk
      const match = /"port":(\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', code => reject(new Error(`exited with ${code}: ${output}`)))
  })
  return { child, port, output: () => output }
}

t.test('example app › serves /healthz, /readyz and /ws; SIGTERM closes clients with 1001 and exits 0', async t => {
  const prefix = `sbtest${randomBytes(4).toString('hex')}`
  t.teardown(() => deleteRedisKeys(prefix))
  const { child, port, output } = await startApp({ DATABASE_URL: await freshDatabase(t), SWITCHBOARD_REDIS_PREFIX: prefix })
  t.teardown(() => void child.kill('SIGKILL'))
  t.match(output(), /SWITCHBOARD_JWT_SECRET is not set: using the development secret/)
  t.match(output(), /database migrations applied/)
  t.same(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json(), { ok: true })
  t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200)
  t.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404)
  const { client, connected } = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, await signDevToken(DEV_JWT_SECRET, 'alice'))
  t.equal(connected.user, 'alice')
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  t.match(await client.waitClosed(), { code: 1001 })
  const [code] = await exited
  t.equal(code, 0)
})

t.test('example app › a bad configuration value stops start-up with one line naming it', async t => {
  for (const [name, value, expected] of [
    ['SWITCHBOARD_HEARTBEAT_MS', 'abc', 'SWITCHBOARD_HEARTBEAT_MS="abc": expected a positive integer (milliseconds)'],
    ['SWITCHBOARD_AUTH_TIMEOUT_MS', '-5', 'SWITCHBOARD_AUTH_TIMEOUT_MS="-5"'],
    ['PORT', 'eighty', 'PORT="eighty": expected an integer port 0..65535'],
    ['DATABASE_URL', 'mysql://x@h/db', 'DATABASE_URL="mysql://x@h/db": expected a URL starting with postgres:// or postgresql://'],
    ['REDIS_URL', 'http://h', 'REDIS_URL="http://h": expected a URL starting with redis:// or rediss://'],
    ['SWITCHBOARD_REDIS_PREFIX', 'a b', 'SWITCHBOARD_REDIS_PREFIX="a b": expected 1..64 letters, digits, _ or -'],
  ] as const) {
    const child = spawn(tsx, ['example-app/src/main.ts'], { cwd: root, env: { ...process.env, PORT: '0', [name]: value } })
    let stderr = ''
    child.stderr.on('data', chunk => (stderr += chunk))
    const [code] = await once(child, 'exit')
    t.equal(code, 1, `${name} exits 1`)
    const lines = stderr.trim().split('\n')
    t.equal(lines.length, 1, `${name}: one line`)
    t.match(lines[0], expected)
  }
})
