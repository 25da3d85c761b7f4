import { sampleObjectLiteral, zodLine } from '../shared/fields.js'
import { camelCase, pascalCase } from '../shared/names.js'
import { OUTSIDER, sampleUser } from '../shared/sample-users.js'
import type { NotificationSpec } from './notification-answers.js'

/** What the notification templates render. */
export interface NotificationView {
  /** The kebab-case name: folder and `kind`. */
  readonly name: string
  /** Its camelCase form: `<camel>Notification` (the schema). */
  readonly camel: string
  /** Its PascalCase form: `<Pascal>Notification` (the type), `notify<Pascal>`. */
  readonly pascal: string
  /** One `name: z....,` line per field. */
  readonly fieldLines: readonly string[]
  /** Test: a valid payload (without `kind`), as an object literal. */
  readonly payloadLiteral: string
  /** Test: the first required field, left out of {@link incompleteLiteral}; undefined when none is required. */
  readonly missingField: string | undefined
  /** Test: the payload without {@link missingField}, as an object literal. */
  readonly incompleteLiteral: string
  /** Test: the user whose inbox receives the notification. */
  readonly user: string
  /** Test: another user. */
  readonly outsider: string
}

/** The template data of a notification. */
export function notificationView(spec: NotificationSpec): NotificationView {
  const missing = spec.fields.find(field => !field.optional)
  return {
    name: spec.name,
    camel: camelCase(spec.name),
    pascal: pascalCase(spec.name),
    fieldLines: spec.fields.map(zodLine),
    payloadLiteral: sampleObjectLiteral(spec.fields),
    missingField: missing?.name,
    incompleteLiteral: sampleObjectLiteral(spec.fields.filter(field => field !== missing)),
    user: sampleUser(0),
    outsider: OUTSIDER,
  }
}
