import { spawn } from 'node:child_process'
import { cp, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The real repository (never written by these tests). */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** Names left out of a copy wherever they appear. */
const EXCLUDED = new Set(['node_modules', '.git', '.tap', '.data'])

/** What a command printed and how it ended. */
export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A throwaway copy of the repository. */
export interface RepoCopy {
  /** Its root. */
  readonly dir: string
  /** Runs `command args` in the copy without a terminal (stdin ignored), with a clean environment. */
  run(command: string, args: readonly string[]): Promise<RunResult>
  /** Removes the copy. */
  remove(): Promise<void>
}

/**
 * Copies the repository to a temporary folder (without node_modules, .git, .tap, .data) and
 * builds a node_modules there whose entries link to the real ones, except the workspace links
 * (`@switchboard/core`, `example-app`, …), which point into the copy. Linking the whole
 * node_modules folder instead would not do: its workspace links are relative to the real
 * folder, so `@switchboard/core` would resolve to the real core.
 */
export async function copyRepo(): Promise<RepoCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-generators-'))
  await cp(REPO_ROOT, dir, { recursive: true, filter: source => !EXCLUDED.has(source.slice(source.lastIndexOf('/') + 1)) })
  await linkModules(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), dir)
  return {
    dir,
    run: (command, args) => run(command, args, dir),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

/** Mirrors `from` (a node_modules folder or a scope in it) into `to`, one link per entry. */
async function linkModules(from: string, to: string, copyRoot: string): Promise<void> {
  await mkdir(to, { recursive: true })
  for (const name of await readdir(from)) {
    const source = join(from, name)
    const target = join(to, name)
    const stats = await lstat(source)
    if (stats.isSymbolicLink()) {
      const link = await readlink(source)
      const resolved = isAbsolute(link) ? link : resolve(from, link)
      const insideWorkspace = !relative(REPO_ROOT, resolved).startsWith('..') && !resolved.startsWith(join(REPO_ROOT, 'node_modules'))
      // A workspace package: the same relative link, now inside the copy.
      if (insideWorkspace) await symlink(join(copyRoot, relative(REPO_ROOT, resolved)), target)
      else await symlink(resolved, target)
    } else if (name.startsWith('@') && stats.isDirectory()) {
      await linkModules(source, target, copyRoot)
    } else {
      await symlink(source, target)
    }
  }
}

/** Runs a command without a terminal and collects its output. */
export function run(command: string, args: readonly string[], cwd: string): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => (stderr += chunk))
    child.once('error', reject)
    child.once('close', code => resolvePromise({ code, stdout, stderr }))
  })
}

/** The environment without tap's variables and loaders, so nested tools start as a user's would. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS')) continue
    env[key] = value
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0' }
}
