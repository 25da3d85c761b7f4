import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { CustomActionFunction, NodePlopAPI } from 'plop'
import { camelCase } from './names.js'
import { CHANNELS_DIR, NOTIFICATIONS_DIR, channelFolders, foldersWith } from './repo.js'

/** One import of an index: the folder and the identifier it exports. */
interface IndexEntry {
  readonly folder: string
  readonly identifier: string
}

/**
 * Renders `templates/<dir>/index.ts.hbs` with the entries and writes `<dir>/index.ts` under
 * the destination. The output depends only on the folder names, so it is deterministic.
 * @returns the written path, relative to the destination.
 */
function writeIndex(plop: NodePlopAPI, dir: string, entries: readonly IndexEntry[]): string {
  const kind = dir.slice(dir.lastIndexOf('/') + 1)
  const template = readFileSync(join(plop.getPlopfilePath(), 'templates', kind, 'index.ts.hbs'), 'utf8')
  const target = `${dir}/index.ts`
  const path = join(plop.getDestBasePath(), target)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, plop.renderString(template, { entries }))
  return target
}

/**
 * Plop action: rewrites `example-app/src/channels/index.ts` from the folders there that contain
 * a `channel.ts` (each exports `<camelName>Channel`), sorted by name.
 */
export const regenerateChannelIndex: CustomActionFunction = (_answers, _config, plop) =>
  writeIndex(
    plop,
    CHANNELS_DIR,
    channelFolders(plop.getDestBasePath()).map(folder => ({ folder, identifier: `${camelCase(folder)}Channel` })),
  )

/**
 * Plop action: rewrites `example-app/src/notifications/index.ts` from the folders there that
 * contain a `notification.ts` (each exports `<camelName>Notification`), sorted by name.
 */
export const regenerateNotificationIndex: CustomActionFunction = (_answers, _config, plop) =>
  writeIndex(
    plop,
    NOTIFICATIONS_DIR,
    foldersWith(plop.getDestBasePath(), NOTIFICATIONS_DIR, 'notification.ts').map(folder => ({
      folder,
      identifier: `${camelCase(folder)}Notification`,
    })),
  )
