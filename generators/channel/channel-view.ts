import type { DeliveryMode } from '@switchboard/core'
import { sampleObjectLiteral, zodLine } from '../shared/fields.js'
import { camelCase, pascalCase } from '../shared/names.js'
import { commentSafe, quote } from '../shared/pattern.js'
import { OUTSIDER, sampleUser } from '../shared/sample-users.js'
import type { ChannelSpec } from './channel-answers.js'

/** What the channel templates render: identifiers, TypeScript literals and the test's cast. */
export interface ChannelView {
  /** The kebab-case name (folder, test titles). */
  readonly name: string
  /** Its camelCase form: `<camel>Schema`, `<camel>Channel`. */
  readonly camel: string
  /** Its PascalCase form: `<Pascal>Data`. */
  readonly pascal: string
  /** The pattern as a TypeScript string literal. */
  readonly patternLiteral: string
  /** The pattern, safe inside a comment. */
  readonly patternComment: string
  /** One `name: z....,` line per field. */
  readonly fieldLines: readonly string[]
  /** The channel's options, as answered. */
  readonly persist: boolean
  readonly presence: boolean
  readonly delivery: DeliveryMode
  /** Flags for the templates' `{{#if}}` blocks (handlebars cannot compare). */
  readonly atLeastOnce: boolean
  readonly isAuthenticated: boolean
  readonly isOwner: boolean
  readonly isMembers: boolean
  readonly isCustom: boolean
  /** The first `{param}`: the owner (owner access) or the group (members access). */
  readonly param: string | undefined
  /** {@link param} in braces, as written in the pattern (`{roomId}`). */
  readonly paramToken: string | undefined
  /** Test: the channel name built from the pattern with sample param values, as a literal. */
  readonly channelLiteral: string
  /** Test: valid sample data, as an object literal. */
  readonly dataLiteral: string
  /** Test: who subscribes (a user with access). */
  readonly subscriber: string
  /** Test: who publishes (another user with access; for owner access, the owner again). */
  readonly publisher: string
  /** Test: a user without access. */
  readonly outsider: string
  /** Test (members access): the group the subscriber and publisher belong to. */
  readonly group: string | undefined
}

/**
 * The template data of a channel. Sample param values are user names (`alice`, `bob`, …),
 * except the group of members access (`group1`); the subscriber is `alice`, so with owner access
 * the owner is `alice` and she also publishes; otherwise `bob` publishes.
 */
export function channelView(spec: ChannelSpec): ChannelView {
  const { pattern, access } = spec
  const param = pattern.params[0]
  const group = access === 'members' ? 'group1' : undefined
  const values: Record<string, string> = {}
  pattern.params.forEach((name, index) => {
    values[name] = group !== undefined && index === 0 ? group : sampleUser(group === undefined ? index : index - 1)
  })
  const subscriber = sampleUser(0)
  const accessParam = access === 'owner' || access === 'members' ? param : undefined
  return {
    name: spec.name,
    camel: camelCase(spec.name),
    pascal: pascalCase(spec.name),
    patternLiteral: quote(pattern.source),
    patternComment: commentSafe(pattern.source),
    fieldLines: spec.fields.map(zodLine),
    persist: spec.persist,
    presence: spec.presence,
    delivery: spec.delivery,
    atLeastOnce: spec.delivery === 'at-least-once',
    isAuthenticated: access === 'authenticated',
    isOwner: access === 'owner',
    isMembers: access === 'members',
    isCustom: access === 'custom',
    param: accessParam,
    paramToken: accessParam === undefined ? undefined : `{${accessParam}}`,
    channelLiteral: quote(pattern.format(values)),
    dataLiteral: sampleObjectLiteral(spec.fields),
    subscriber,
    publisher: access === 'owner' ? subscriber : sampleUser(1),
    outsider: OUTSIDER,
    group,
  }
}
