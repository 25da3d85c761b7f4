import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { assertAll, type AnswerMap } from '../shared/answers.js'
import { checkFields, parseFields, type Field } from '../shared/fields.js'
import { checkKebabName } from '../shared/names.js'
import { CHANNELS_DIR, NOTIFICATIONS_DIR, checkNewFolder, folderUsingNamespace } from '../shared/repo.js'

/** Field names a notification cannot use: `kind` tells notifications apart. */
export const RESERVED_FIELDS: readonly string[] = ['kind']

/** The inbox channel's folder and pattern. */
export const INBOX = { folder: 'user', pattern: 'user:{id}', namespace: 'user' } as const

/** A notification to generate: the answers, checked. */
export interface NotificationSpec {
  readonly name: string
  readonly fields: readonly Field[]
  /** Whether the inbox channel (`channels/user/channel.ts`) must be written too. */
  readonly writeInbox: boolean
}

/** Checks the notification name: kebab-case, not reserved, no such folder yet. */
export function checkNotificationName(name: unknown, root: string): true | string {
  const valid = checkKebabName(name, 'name')
  return valid === true ? checkNewFolder(root, NOTIFICATIONS_DIR, name as string, 'notification') : valid
}

/** Whether the app has its inbox channel already. */
export function hasInbox(root: string): boolean {
  return existsSync(join(root, CHANNELS_DIR, INBOX.folder, 'channel.ts'))
}

/** Checks that the inbox can be written when it is missing: no other channel uses `user:`. */
export function checkInboxNamespace(root: string): true | string {
  if (hasInbox(root)) return true
  const user = folderUsingNamespace(root, INBOX.namespace)
  return user === undefined
    ? true
    : `the inbox channel ${INBOX.pattern} cannot be written: ${CHANNELS_DIR}/${user.folder}/channel.ts already uses the namespace "${INBOX.namespace}" (${user.pattern})`
}

/**
 * Checks every answer again (a prompt skipped without a terminal has none).
 * @throws Error with the first problem's message; nothing has been written then.
 */
export function toNotificationSpec(answers: AnswerMap, root: string): NotificationSpec {
  assertAll([
    () => checkNotificationName(answers['name'], root),
    () => checkFields(answers['fields'], RESERVED_FIELDS),
    () => checkInboxNamespace(root),
  ])
  return { name: answers['name'] as string, fields: parseFields(answers['fields'], RESERVED_FIELDS), writeInbox: !hasInbox(root) }
}
