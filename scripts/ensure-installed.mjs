// Runs before `npm start`: installs dependencies on a fresh clone (and generates the Prisma
// client when an install skipped scripts), so `npm start` is one command.
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const root = new URL('..', import.meta.url)
const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

if (!existsSync(new URL('node_modules/ws/package.json', root))) {
  console.log('switchboard: installing dependencies (npm ci)…')
  run('npm', ['ci', '--no-audit', '--no-fund'])
}
if (!existsSync(new URL('core/src/engines/prisma/generated/client.ts', root))) {
  console.log('switchboard: generating the Prisma client…')
  run('npx', ['prisma', 'generate'])
}
