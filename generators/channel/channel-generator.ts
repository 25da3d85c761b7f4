import type { ActionType, NodePlopAPI, PlopGeneratorConfig } from 'plop'
import type { AnswerMap } from '../shared/answers.js'
import { checkFields } from '../shared/fields.js'
import { regenerateChannelIndex } from '../shared/indexes.js'
import { prompt } from '../shared/prompt.js'
import { CHANNELS_DIR } from '../shared/repo.js'
import {
  ACCESS_MODES,
  DELIVERY_MODES,
  checkAccess,
  checkChannelName,
  checkChannelPattern,
  checkDelivery,
  defaultPattern,
  toChannelSpec,
} from './channel-answers.js'
import { channelView } from './channel-view.js'

/** One-line help of each delivery mode, shown in the list. */
const DELIVERY_HELP: Record<(typeof DELIVERY_MODES)[number], string> = {
  broadcast: 'every live subscriber gets each message once (rooms)',
  'at-least-once': 'each recipient acks; unacked messages come again (inboxes, DMs)',
}

/** One-line help of each access mode, shown in the list. */
const ACCESS_HELP: Record<(typeof ACCESS_MODES)[number], string> = {
  authenticated: 'any connected user may subscribe and publish',
  owner: 'only the user named by the first {param}',
  members: 'members of the group named by the first {param} (memberships.ts)',
  custom: 'deny everyone until you write the rule',
}

/**
 * `npx plop channel`: writes `example-app/src/channels/<name>/` (schema.ts, channel.ts,
 * <name>.test.ts; yours to edit) and regenerates the channel index. Every prompt can be answered
 * on the command line (`npx plop channel -- --name poll ...`); without a terminal, unanswered
 * prompts take their defaults. Everything is checked before anything is written, and existing
 * files are never overwritten.
 */
export function channelGenerator(plop: NodePlopAPI): PlopGeneratorConfig {
  const root = (): string => plop.getDestBasePath()
  return {
    description: 'a typed channel: schema, definition and test',
    prompts: [
      prompt(
        {
          type: 'input',
          name: 'name',
          message: 'Channel name (kebab-case, e.g. chat-room):',
          validate: (value: unknown) => checkChannelName(value, root()),
        },
        'kebab-case folder name, e.g. chat-room (required)',
      ),
      prompt(
        {
          type: 'input',
          name: 'pattern',
          message: 'Channel name pattern (namespace, then literal or {param} segments):',
          default: (answers: AnswerMap) => defaultPattern(answers['name']),
          validate: (value: unknown) => checkChannelPattern(value, root()),
        },
        'e.g. "room:{roomId}" or "dm:{a}:{b}" (default "<name>:{id}")',
      ),
      prompt(
        {
          type: 'input',
          name: 'fields',
          message: 'Payload fields (e.g. text:string, count:integer?; empty: edit the schema yourself):',
          validate: (value: unknown) => checkFields(value),
        },
        'e.g. "text:string, count:integer?" (string|number|integer|boolean, ? = optional; default none: --fields=-)',
      ),
      prompt(
        { type: 'confirm', name: 'persist', message: 'Persist messages (history, recovery with since)?', default: true },
        'true | false (default true)',
      ),
      prompt(
        {
          type: 'list',
          name: 'delivery',
          message: 'Delivery:',
          choices: DELIVERY_MODES.map(value => ({ name: `${value}: ${DELIVERY_HELP[value]}`, value, short: value })),
          default: 'broadcast',
          validate: (value: unknown, answers?: AnswerMap) => checkDelivery(value, answers),
        },
        `${DELIVERY_MODES.join(' | ')} (default broadcast)`,
      ),
      prompt(
        { type: 'confirm', name: 'presence', message: 'Track presence (join/leave events)?', default: false },
        'true | false (default false)',
      ),
      prompt(
        {
          type: 'list',
          name: 'access',
          message: 'Who may subscribe and publish?',
          choices: ACCESS_MODES.map(value => ({ name: `${value}: ${ACCESS_HELP[value]}`, value, short: value })),
          default: 'authenticated',
          validate: (value: unknown, answers?: AnswerMap) => checkAccess(value, answers),
        },
        `${ACCESS_MODES.join(' | ')} (default authenticated)`,
      ),
    ],
    actions: (answers?: AnswerMap): ActionType[] => {
      const spec = toChannelSpec(answers ?? {}, root())
      const data = channelView(spec)
      const dir = `${CHANNELS_DIR}/${spec.name}`
      const add = (file: string, template: string): ActionType => ({
        type: 'add',
        path: `${dir}/${file}`,
        templateFile: `templates/channels/__name__/${template}`,
        data,
        abortOnFail: true,
        skipIfExists: false,
      })
      return [
        add('schema.ts', 'schema.ts.hbs'),
        add('channel.ts', 'channel.ts.hbs'),
        add(`${spec.name}.test.ts`, '__name__.test.ts.hbs'),
        regenerateChannelIndex,
      ]
    },
  }
}
