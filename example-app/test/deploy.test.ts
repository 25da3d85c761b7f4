import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_OPTIONS } from '@switchboard/core'
import { MAX_BODY_BYTES } from '../src/app/create-app.js'

/**
 * The deployment files (no Docker engine runs here, so they are read, not run): nginx's
 * WebSocket upgrade headers and timeouts, the Dockerfile's commands against the repository's
 * scripts and paths, and docker-compose.yml's services and settings against both.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string): string => readFileSync(join(root, path), 'utf8')
const json = (path: string): any => JSON.parse(read(path))
const rootPackage = json('package.json')
const appPackage = json('example-app/package.json')

/** nginx.conf without comments. */
const nginx = read('deploy/nginx.conf').replace(/#[^\n]*/g, '')

/** The body of the first `<head> { ... }` block of `text` (braces balanced). */
function block(text: string, head: RegExp): string | undefined {
  const match = head.exec(text)
  if (!match) return undefined
  let depth = 0
  const start = match.index + match[0].length
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && depth-- === 0) return text.slice(start, i)
  }
  return undefined
}

/** Seconds of an nginx time value (`75s`, `2m`, `75`). */
function seconds(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value)
  if (!match) return Number.NaN
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h']
}

t.test('nginx.conf › braces balance', async t => {
  t.equal((nginx.match(/\{/g) ?? []).length, (nginx.match(/\}/g) ?? []).length)
})

t.test('nginx.conf › the WebSocket location upgrades: HTTP/1.1, Upgrade $http_upgrade, Connection from the upgrade map', async t => {
  const map = block(nginx, /map\s+\$http_upgrade\s+\$connection_upgrade\s*\{/)
  t.ok(map, 'a map from $http_upgrade to $connection_upgrade')
  t.match(map, /\bdefault\s+upgrade\s*;/, 'an upgrade request gets Connection: upgrade')
  t.match(map, /''\s+close\s*;/, 'others get Connection: close')
  const ws = block(nginx, new RegExp(`location\\s+=?\\s*${DEFAULT_OPTIONS.path}\\s*\\{`))
  t.ok(ws, `a location for ${DEFAULT_OPTIONS.path}, the WebSocket path`)
  t.match(ws, /^\s*proxy_http_version\s+1\.1\s*;/m)
  t.match(ws, /^\s*proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/m)
  t.match(ws, /^\s*proxy_set_header\s+Connection\s+\$connection_upgrade\s*;/m)
  t.match(ws, /^\s*proxy_pass\s+http:\/\/switchboard\s*;/m)
  const read = /proxy_read_timeout\s+(\S+)\s*;/.exec(ws ?? '')
  t.ok(read, 'proxy_read_timeout is set (nginx default: 60 s)')
  const heartbeat = DEFAULT_OPTIONS.heartbeatMs / 1000
  t.ok(seconds(read?.[1] ?? '') > 2 * heartbeat, `proxy_read_timeout ${read?.[1]} > two heartbeats (${2 * heartbeat} s)`)
})

t.test('nginx.conf › upstream: the compose nodes on their port; /metrics kept internal; bodies fit', async t => {
  const upstream = block(nginx, /upstream\s+switchboard\s*\{/) ?? ''
  const servers = [...upstream.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map(match => `${match[1]}:${match[2]}`)
  t.same(servers, ['app1:3000', 'app2:3000'])
  const compose = read('docker-compose.yml')
  for (const server of servers) t.match(compose, new RegExp(`^  ${server.split(':')[0]}:$`, 'm'), `${server} is a compose service`)
  t.match(block(nginx, /location\s+=\s*\/metrics\s*\{/), /return\s+404\s*;/)
  const size = /client_max_body_size\s+(\d+)k\s*;/.exec(nginx)
  t.ok(size && Number(size[1]) * 1024 > MAX_BODY_BYTES, 'nginx passes bodies the app answers 413 to itself')
})

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const dockerfile = read('Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map(line => line.trim())
  .filter(line => line !== '' && !line.startsWith('#'))
  .map(line => {
    const [instruction, ...rest] = line.split(/\s+/)
    return { instruction: instruction!.toUpperCase(), args: rest.join(' ') }
  })
const all = (name: string): string[] => dockerfile.filter(step => step.instruction === name).map(step => step.args)

t.test('Dockerfile › node:20-slim, runs as a non-root user', async t => {
  t.same(all('FROM'), ['node:20-slim'])
  const users = all('USER')
  t.ok(users.length > 0 && users.at(-1) !== 'root' && users.at(-1) !== '0', `last USER is ${users.at(-1)}`)
  const lastUser = dockerfile.findLastIndex(step => step.instruction === 'USER')
  const cmd = dockerfile.findIndex(step => step.instruction === 'CMD')
  t.ok(lastUser < cmd, 'USER comes before CMD')
})

t.test('Dockerfile › every COPY source exists', async t => {
  for (const args of all('COPY')) {
    const paths = args.split(/\s+/).filter(part => !part.startsWith('--'))
    for (const source of paths.slice(0, -1)) t.ok(existsSync(join(root, source)), `COPY ${source}`)
  }
})

t.test('Dockerfile › every RUN command is one the repository supports', async t => {
  const runs = all('RUN').flatMap(args => args.split('&&').map(command => command.trim()))
  t.ok(runs.length > 0)
  for (const command of runs) {
    const npmVersion = /^npm install --global npm@(\d+)\.(\d+)\.(\d+)$/.exec(command)
    if (npmVersion) {
      t.equal(npmVersion[1], '11', 'npm 11 (allowScripts in package.json)')
      t.ok(rootPackage.allowScripts, 'package.json relies on npm 11 allowScripts')
    } else if (/^npm ci\b/.test(command)) {
      t.ok(existsSync(join(root, 'package-lock.json')), 'npm ci needs package-lock.json')
      t.match(command, /--include=dev/, 'development dependencies are installed (tsx runs the sources)')
      t.ok(rootPackage.devDependencies.tsx, 'tsx is a root development dependency')
      t.match(rootPackage.scripts.postinstall, /^prisma generate$/, 'npm ci generates the Prisma client (postinstall)')
      for (const workspace of rootPackage.workspaces as string[]) {
        t.match(dockerfile.filter(step => step.instruction === 'COPY').map(step => step.args).join('\n'), `${workspace}/package.json`, `${workspace}'s package.json is there for npm ci`)
      }
    } else if (command === 'npx prisma generate') {
      t.ok(rootPackage.devDependencies.prisma, 'prisma is a root development dependency')
      t.ok(existsSync(join(root, 'prisma/schema.prisma')) && existsSync(join(root, 'prisma.config.ts')), 'schema and config exist')
    } else if (command === 'chown node:node /app' || /^npm cache clean --force$/.test(command)) {
      t.pass(command)
    } else {
      t.fail(`a RUN command this test does not know: ${command}`)
    }
  }
})

t.test('Dockerfile › CMD is npm start, which runs the example app', async t => {
  t.same(JSON.parse(all('CMD').at(-1) ?? 'null'), ['npm', 'start'])
  t.equal(rootPackage.scripts.start, 'npm run start -w example-app')
  const prestart = /^node (\S+)$/.exec(rootPackage.scripts.prestart)
  t.ok(prestart && existsSync(join(root, prestart[1]!)), `prestart runs ${prestart?.[1]}`)
  const start = /^tsx (\S+)$/.exec(appPackage.scripts.start)
  t.ok(start && existsSync(join(root, 'example-app', start[1]!)), `example-app's start runs ${start?.[1]}`)
  const port = /PORT=(\d+)/.exec(all('ENV').join(' '))?.[1]
  t.same(all('EXPOSE'), [port], 'EXPOSE is the PORT it sets')
  t.match(all('ENV').join(' '), /NODE_ENV=production/)
  t.match(all('HEALTHCHECK').join(' '), /\/healthz/)
  t.match(read('example-app/src/http-routes.ts'), "path === '/healthz'", 'the health check route exists')
})

t.test('.dockerignore › leaves out installs, local data and generated code', async t => {
  const ignored = read('.dockerignore').split('\n').map(line => line.trim())
  for (const entry of ['node_modules', '.git', '.data', 'core/src/engines/prisma/generated']) t.ok(ignored.includes(entry), entry)
})

t.test('docker-compose.yml › PostgreSQL, Redis, two app nodes with their settings, nginx with the config', async t => {
  const compose = read('docker-compose.yml')
  for (const service of ['postgres', 'redis', 'app1', 'app2', 'nginx']) t.match(compose, new RegExp(`^  ${service}:$`, 'm'), `service ${service}`)
  for (const variable of ['DATABASE_URL', 'REDIS_URL', 'SWITCHBOARD_JWT_SECRET', 'SWITCHBOARD_ALLOWED_ORIGINS']) {
    t.match(compose, new RegExp(`^    ${variable}: \\S`, 'm'), `the nodes get ${variable}`)
  }
  t.match(compose, /DATABASE_URL: postgresql:\/\/\S+@postgres:5432\//, 'DATABASE_URL points at the postgres service')
  t.match(compose, /REDIS_URL: redis:\/\/redis:6379/, 'REDIS_URL points at the redis service')
  t.match(compose, /SWITCHBOARD_JWT_SECRET: \$\{SWITCHBOARD_JWT_SECRET:\?/, 'the JWT secret is required, never defaulted')
  t.match(compose, /SWITCHBOARD_NODE_ID: app1[\s\S]*SWITCHBOARD_NODE_ID: app2/, 'each node has its own id')
  t.match(compose, /- \.\/deploy\/nginx\.conf:\/etc\/nginx\/nginx\.conf:ro/, 'nginx mounts deploy/nginx.conf')
  t.match(compose, /^\s+build: \.$/m, 'the nodes are built from the Dockerfile')
  t.match(compose, /PORT: "3000"/, 'the nodes listen where nginx expects them')
})
