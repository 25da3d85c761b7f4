import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { signDevToken } from '@switchboard/core'
import { TestClient } from '@switchboard/core/testing'
import { freshDatabase, redisPrefix, startApp } from './helpers/app-process.js'
import { DEV_JWT_SECRET } from '../src/config.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))

t.test('example app › serves /healthz, /readyz and /ws; SIGTERM closes clients with 1001 and exits 0', async t => {
  const prefix = redisPrefix(t)
  const { child, port, output } = await startApp({ DATABASE_URL: await freshDatabase(t), SWITCHBOARD_REDIS_PREFIX: prefix })
  t.teardown(() => void child.kill('SIGKILL'))
  t.match(output(), /SWITCHBOARD_JWT_SECRET is not set: using the development secret/)
  t.match(output(), /database migrations applied/)
  t.same(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json(), { ok: true })
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { ready: true, checks: { accepting: true, broker: true, presence: true, store: true } }, '/readyz reports each check')
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
    ['SWITCHBOARD_WORKERS', 'many', "SWITCHBOARD_WORKERS=\"many\": expected an integer 1..256 or 'auto'"],
    ['SWITCHBOARD_PRESENCE_TTL_MS', '5', 'SWITCHBOARD_PRESENCE_TTL_MS="5": expected an integer 1000..3600000'],
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
