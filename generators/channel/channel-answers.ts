import type { DeliveryMode } from '@switchboard/core'
import { assertAll, checkBoolean, type AnswerMap } from '../shared/answers.js'
import { checkFields, parseFields, type Field } from '../shared/fields.js'
import { checkKebabName } from '../shared/names.js'
import { parsePattern, type PatternInfo } from '../shared/pattern.js'
import { CHANNELS_DIR, checkNewFolder, folderUsingNamespace } from '../shared/repo.js'

/** Who may subscribe and publish (see docs/generators.md). */
export type Access = 'authenticated' | 'owner' | 'members' | 'custom'

/** The access modes, in prompt order. */
export const ACCESS_MODES: readonly Access[] = ['authenticated', 'owner', 'members', 'custom']

/** The delivery modes, in prompt order. */
export const DELIVERY_MODES: readonly DeliveryMode[] = ['broadcast', 'at-least-once']

/** A channel to generate: the answers, checked and with defaults applied. */
export interface ChannelSpec {
  /** kebab-case; the folder name. */
  readonly name: string
  readonly pattern: PatternInfo
  /** Payload fields; none means "edit the schema yourself". */
  readonly fields: readonly Field[]
  readonly persist: boolean
  readonly delivery: DeliveryMode
  readonly presence: boolean
  readonly access: Access
}

/** The default pattern of a channel: `<name>:{id}`. */
export function defaultPattern(name: unknown): string {
  return `${typeof name === 'string' ? name : 'channel'}:{id}`
}

/** Checks the channel name: kebab-case, not reserved, no such folder yet. */
export function checkChannelName(name: unknown, root: string): true | string {
  const valid = checkKebabName(name, 'name')
  return valid === true ? checkNewFolder(root, CHANNELS_DIR, name as string, 'channel') : valid
}

/** Checks the pattern: core's rules, and a namespace no other channel folder uses. */
export function checkChannelPattern(pattern: unknown, root: string): true | string {
  let info: PatternInfo
  try {
    info = parsePattern(pattern)
  } catch (err) {
    return (err as Error).message
  }
  const user = folderUsingNamespace(root, info.namespace)
  return user === undefined
    ? true
    : `pattern "${info.source}": namespace "${info.namespace}" is already used by ${CHANNELS_DIR}/${user.folder}/channel.ts (${user.pattern}); each channel needs its own namespace`
}

/** Checks the delivery mode against the answers so far (persist, pattern). */
export function checkDelivery(delivery: unknown, answers: AnswerMap = {}): true | string {
  if (!DELIVERY_MODES.includes(delivery as DeliveryMode)) return `delivery ${JSON.stringify(delivery)}: expected one of ${DELIVERY_MODES.join(', ')}`
  if (delivery !== 'at-least-once') return true
  if (answers['persist'] === false) return 'delivery at-least-once needs persist true: acknowledged cursors and redelivery live in the message store'
  const params = paramsOf(answers)
  if (params && params.length === 0) {
    return `delivery at-least-once needs a {param} in the pattern naming a recipient (e.g. dm:{a}:{b}); "${patternOf(answers)}" has none`
  }
  return true
}

/** Checks the access mode against the pattern: owner and members need a `{param}`. */
export function checkAccess(access: unknown, answers: AnswerMap = {}): true | string {
  if (!ACCESS_MODES.includes(access as Access)) return `access ${JSON.stringify(access)}: expected one of ${ACCESS_MODES.join(', ')}`
  if (access !== 'owner' && access !== 'members') return true
  const params = paramsOf(answers)
  if (params && params.length === 0) {
    const role = access === 'owner' ? 'the owner' : 'the group'
    return `access ${access} needs a {param} in the pattern naming ${role} (e.g. ${typeof answers['name'] === 'string' ? answers['name'] : 'notes'}:{${access === 'owner' ? 'userId' : 'groupId'}}); "${patternOf(answers)}" has none`
  }
  return true
}

/**
 * Applies the defaults to the answers (a prompt skipped without a terminal has none) and runs
 * every check again, in prompt order.
 * @throws Error with the first problem's message; nothing has been written then.
 */
export function toChannelSpec(answers: AnswerMap, root: string): ChannelSpec {
  const complete: AnswerMap = {
    ...answers,
    pattern: answers['pattern'] ?? defaultPattern(answers['name']),
    persist: answers['persist'] ?? true,
    delivery: answers['delivery'] ?? 'broadcast',
    presence: answers['presence'] ?? false,
    access: answers['access'] ?? 'authenticated',
  }
  assertAll([
    () => checkChannelName(complete['name'], root),
    () => checkChannelPattern(complete['pattern'], root),
    () => checkFields(complete['fields']),
    () => checkBoolean(complete['persist'], 'persist'),
    () => checkDelivery(complete['delivery'], complete),
    () => checkBoolean(complete['presence'], 'presence'),
    () => checkAccess(complete['access'], complete),
  ])
  return {
    name: complete['name'] as string,
    pattern: parsePattern(complete['pattern']),
    fields: parseFields(complete['fields']),
    persist: complete['persist'] as boolean,
    delivery: complete['delivery'] as DeliveryMode,
    presence: complete['presence'] as boolean,
    access: complete['access'] as Access,
  }
}

/** The pattern the answers give (the default when none was given). */
function patternOf(answers: AnswerMap): string {
  return typeof answers['pattern'] === 'string' ? answers['pattern'] : defaultPattern(answers['name'])
}

/** The params of the answers' pattern, or undefined while it is not valid. */
function paramsOf(answers: AnswerMap): readonly string[] | undefined {
  try {
    return parsePattern(patternOf(answers)).params
  } catch {
    return undefined
  }
}
