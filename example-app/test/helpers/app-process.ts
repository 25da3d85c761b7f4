import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { Test } from 'tap'
import { ADMIN_URL, deleteRedisKeys, testPrefix } from './test-services.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url))

/** A fresh database on the machine's PostgreSQL for one app run, dropped in teardown. */
export async function freshDatabase(t: Test): Promise<string> {
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

/** A random Redis prefix whose keys are deleted when `t` ends. */
export function redisPrefix(t: Test): string {
  const prefix = testPrefix()
  t.teardown(() => deleteRedisKeys(prefix))
  return prefix
}

/** The app running as `npm start` runs it. */
export interface AppProcess {
  readonly child: ChildProcess
  /** The port of the first node that listens. */
  readonly port: number
  /** Everything it printed so far (stdout and stderr). */
  output(): string
  /** Resolves once `pattern` matched the output `count` times. */
  until(pattern: RegExp, count?: number): Promise<void>
}

/** Starts the app as `npm start` does (PORT 0 unless given) and resolves once a node listens. */
export async function startApp(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(tsx, ['example-app/src/main.ts'], { cwd: root, env: { ...process.env, PORT: '0', ...env } })
  let output = ''
  const watchers: (() => void)[] = []
  const append = (chunk: Buffer): void => {
    output += chunk
    for (const watcher of [...watchers]) watcher()
  }
  child.stderr!.on('data', append)
  child.stdout!.on('data', append)
  const exited = new Promise<never>((_, reject) => child.once('exit', code => reject(new Error(`exited with ${code}: ${output}`))))
  exited.catch(() => {})
  const until = (pattern: RegExp, count = 1): Promise<void> =>
    Promise.race([
      exited,
      new Promise<void>(resolve => {
        const check = (): void => {
          if ((output.match(new RegExp(pattern.source, 'g')) ?? []).length >= count) {
            watchers.splice(watchers.indexOf(check), 1)
            resolve()
          }
        }
        watchers.push(check)
        check()
      }),
    ])
  await until(/"port":\d+/)
  const port = Number(/"port":(\d+)/.exec(output)![1])
  return { child, port, output: () => output, until }
}
