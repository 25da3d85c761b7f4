import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { camelCase } from './names.js'

/** Where channel folders live, relative to the repository root. */
export const CHANNELS_DIR = 'example-app/src/channels'

/** Where notification folders live, relative to the repository root. */
export const NOTIFICATIONS_DIR = 'example-app/src/notifications'

/**
 * The names of the folders under `dir` (relative to `root`) that contain `file`, sorted by
 * UTF-16 code units so the order does not depend on the locale.
 */
export function foldersWith(root: string, dir: string, file: string): string[] {
  const base = join(root, dir)
  if (!existsSync(base)) return []
  return readdirSync(base, { withFileTypes: true })
    .filter(entry => entry.isDirectory() && existsSync(join(base, entry.name, file)))
    .map(entry => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The channel folders (those with a `channel.ts`), sorted. */
export function channelFolders(root: string): string[] {
  return foldersWith(root, CHANNELS_DIR, 'channel.ts')
}

/**
 * The pattern each channel folder declares, read from its `channel.ts` (`pattern: '...'`);
 * folders whose pattern cannot be read are left out.
 */
export function channelPatterns(root: string): Map<string, string> {
  const patterns = new Map<string, string>()
  for (const folder of channelFolders(root)) {
    const source = readFileSync(join(root, CHANNELS_DIR, folder, 'channel.ts'), 'utf8')
    const pattern = /\bpattern\s*:\s*(['"`])([^'"`]+)\1/.exec(source)?.[2]
    if (pattern !== undefined) patterns.set(folder, pattern)
  }
  return patterns
}

/** The folder (if any) whose channel uses `namespace`, e.g. `poll` for `poll:{pollId}`. */
export function folderUsingNamespace(root: string, namespace: string): { folder: string; pattern: string } | undefined {
  for (const [folder, pattern] of channelPatterns(root)) {
    if (pattern.split(':', 1)[0] === namespace) return { folder, pattern }
  }
  return undefined
}

/**
 * Checks that a new folder `name` can be created under `dir`: it must not exist, and its
 * camelCase identifier must not clash with a sibling's (`a-1b` and `a1b` both give `a1b`).
 * @returns true, or the message to show.
 */
export function checkNewFolder(root: string, dir: string, name: string, what: string): true | string {
  if (existsSync(join(root, dir, name))) {
    return `${what} "${name}" already exists (${dir}/${name}): pick another name; the generator never overwrites files`
  }
  const base = join(root, dir)
  if (!existsSync(base)) return true
  const clash = readdirSync(base).find(entry => camelCase(entry) === camelCase(name))
  return clash === undefined ? true : `${what} "${name}" would reuse the identifier ${camelCase(name)} of ${dir}/${clash}: pick another name`
}
