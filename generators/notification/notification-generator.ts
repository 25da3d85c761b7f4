import type { ActionType, NodePlopAPI, PlopGeneratorConfig } from 'plop'
import type { AnswerMap } from '../shared/answers.js'
import { checkFields } from '../shared/fields.js'
import { regenerateChannelIndex, regenerateNotificationIndex } from '../shared/indexes.js'
import { prompt } from '../shared/prompt.js'
import { CHANNELS_DIR, NOTIFICATIONS_DIR } from '../shared/repo.js'
import { INBOX, RESERVED_FIELDS, checkNotificationName, toNotificationSpec } from './notification-answers.js'
import { notificationView } from './notification-view.js'

/**
 * `npx plop notification`: writes `example-app/src/notifications/<name>/` (notification.ts and
 * <name>.test.ts; yours to edit), regenerates the notifications index and, when the app has no
 * inbox channel yet, writes `channels/user/channel.ts` and regenerates the channel index.
 * Everything is checked before anything is written; existing files are never overwritten.
 */
export function notificationGenerator(plop: NodePlopAPI): PlopGeneratorConfig {
  const root = (): string => plop.getDestBasePath()
  return {
    description: 'a typed notification for user inboxes (user:{id})',
    prompts: [
      prompt(
        {
          type: 'input',
          name: 'name',
          message: 'Notification name (kebab-case, e.g. mention); it is also its kind:',
          validate: (value: unknown) => checkNotificationName(value, root()),
        },
        'kebab-case folder name and kind, e.g. mention (required)',
      ),
      prompt(
        {
          type: 'input',
          name: 'fields',
          message: 'Payload fields (e.g. room:string, mid:string, text:string; empty: edit the schema yourself):',
          validate: (value: unknown) => checkFields(value, RESERVED_FIELDS),
        },
        'e.g. "room:string, text:string" (string|number|integer|boolean, ? = optional; not kind; default none: --fields=-)',
      ),
    ],
    actions: (answers?: AnswerMap): ActionType[] => {
      const spec = toNotificationSpec(answers ?? {}, root())
      const data = notificationView(spec)
      const dir = `${NOTIFICATIONS_DIR}/${spec.name}`
      const add = (path: string, templateFile: string): ActionType => ({ type: 'add', path, templateFile, data, abortOnFail: true, skipIfExists: false })
      return [
        add(`${dir}/notification.ts`, 'templates/notifications/__name__/notification.ts.hbs'),
        add(`${dir}/${spec.name}.test.ts`, 'templates/notifications/__name__/__name__.test.ts.hbs'),
        regenerateNotificationIndex,
        ...(spec.writeInbox
          ? [add(`${CHANNELS_DIR}/${INBOX.folder}/channel.ts`, `templates/channels/${INBOX.folder}/channel.ts.hbs`), regenerateChannelIndex]
          : []),
      ]
    },
  }
}
