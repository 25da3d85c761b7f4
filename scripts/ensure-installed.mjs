// Runs before `npm start`: installs dependencies on a fresh clone so `npm start` is one command.
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

if (!existsSync(new URL('../node_modules/ws/package.json', import.meta.url))) {
  console.log('switchboard: installing dependencies (npm ci)…')
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) })
  process.exit(result.status ?? 1)
}
