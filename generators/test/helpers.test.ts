import t from 'tap'
import { ChannelPattern } from '@switchboard/core'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkAccess, checkChannelName, checkChannelPattern, checkDelivery, toChannelSpec } from '../channel/channel-answers.js'
import { channelView } from '../channel/channel-view.js'
import { toNotificationSpec } from '../notification/notification-answers.js'
import { parseFields, sampleObjectLiteral, zodLine } from '../shared/fields.js'
import { camelCase, checkKebabName, pascalCase } from '../shared/names.js'
import { parsePattern, quote } from '../shared/pattern.js'

const scratchRoots: string[] = []
t.teardown(() => scratchRoots.forEach(root => rmSync(root, { recursive: true, force: true })))

/** A scratch root (removed at the end) with one channel folder: `poll`, pattern `poll:{pollId}`. */
function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'switchboard-generator-helpers-'))
  scratchRoots.push(root)
  mkdirSync(join(root, 'example-app/src/channels/poll'), { recursive: true })
  writeFileSync(join(root, 'example-app/src/channels/poll/channel.ts'), "export const pollChannel = defineChannel({ pattern: 'poll:{pollId}' })\n")
  return root
}

t.test('names › kebab-case names pass; others get a message naming the value', async t => {
  for (const name of ['poll', 'chat-room', 'a1-b2', 'x']) t.equal(checkKebabName(name, 'name'), true, name)
  t.match(checkKebabName('Poll', 'name'), /name "Poll" is not kebab-case/)
  t.match(checkKebabName('2fa', 'name'), /must start with a letter/)
  t.match(checkKebabName('class', 'name'), /reserved word/)
  t.match(checkKebabName('chat--room', 'name'), /not kebab-case/)
  t.match(checkKebabName('chat-', 'name'), /not kebab-case/)
  t.match(checkKebabName(undefined, 'name'), /name is required: pass --name/)
})

t.test('names › case conversion', async t => {
  t.equal(camelCase('chat-room-2'), 'chatRoom2')
  t.equal(pascalCase('chat-room'), 'ChatRoom')
  t.equal(pascalCase('poll'), 'Poll')
})

t.test('fields › parse name:type lists; empty or - means none', async t => {
  t.same(parseFields('text:string, count:integer?, done:boolean, score:number'), [
    { name: 'text', type: 'string', optional: false },
    { name: 'count', type: 'integer', optional: true },
    { name: 'done', type: 'boolean', optional: false },
    { name: 'score', type: 'number', optional: false },
  ])
  t.same(parseFields(''), [])
  t.same(parseFields(' - '), [])
  t.same(parseFields(undefined), [])
  t.equal(zodLine({ name: 'count', type: 'integer', optional: true }), 'count: z.number().int().optional(),')
  t.equal(zodLine({ name: 'text', type: 'string', optional: false }), 'text: z.string().min(1).max(4000),')
  t.equal(sampleObjectLiteral(parseFields('text:string, n:number?')), "{ text: 'sample text', n: 1.5 }")
})

t.test('fields › refuse bad entries with a message naming them', async t => {
  t.throws(() => parseFields('text:str'), { message: /"text:str" has type "str"; expected one of string, number, integer, boolean/ })
  t.throws(() => parseFields('text'), { message: /"text" is not name:type/ })
  t.throws(() => parseFields('a:string, a:number'), { message: /"a" appears twice/ })
  t.throws(() => parseFields('kind:string', ['kind']), { message: /"kind" is reserved/ })
  t.throws(() => parseFields('true'), { message: /--fields=-/ })
})

t.test("pattern › core's ChannelPattern decides; quote escapes for TypeScript", async t => {
  for (const source of ['room:{roomId}', 'dm:{a}:{b}', 'status:global', 'x_y-z:{id}:events']) {
    const core = new ChannelPattern(source)
    t.match(parsePattern(source), { namespace: core.namespace, params: core.params }, source)
  }
  for (const source of ['Room:{id}', 'room', 'room:{a}:{a}', 'room:{a b}', ':x']) {
    t.throws(() => new ChannelPattern(source), `core refuses ${source}`)
    t.throws(() => parsePattern(source), { message: /channel pattern/ }, `generator refuses ${source}`)
  }
  t.equal(quote("it's\\"), "'it\\'s\\\\'")
})

t.test('channel answers › names, namespaces and option combinations are checked against the tree', async t => {
  const root = scratchRoot()
  t.match(checkChannelName('poll', root), /channel "poll" already exists/)
  t.equal(checkChannelName('votes', root), true)
  t.match(checkChannelPattern('poll:{x}', root), /namespace "poll" is already used by example-app\/src\/channels\/poll\/channel.ts/)
  t.equal(checkChannelPattern('votes:{x}', root), true)
  t.match(checkDelivery('at-least-once', { pattern: 'votes:{x}', persist: false }), /needs persist true/)
  t.match(checkDelivery('at-least-once', { pattern: 'votes:all' }), /needs a \{param\}/)
  t.equal(checkDelivery('at-least-once', { pattern: 'dm:{a}:{b}' }), true)
  t.match(checkAccess('owner', { pattern: 'votes:all' }), /access owner needs a \{param\} in the pattern naming the owner/)
  t.match(checkAccess('members', { name: 'votes' }), true, 'the default pattern <name>:{id} has a param')
  t.match(checkAccess('admins', {}), /expected one of authenticated, owner, members, custom/)
})

t.test('channel answers › defaults apply to skipped prompts', async t => {
  const root = scratchRoot()
  t.match(toChannelSpec({ name: 'votes' }, root), {
    name: 'votes',
    pattern: { source: 'votes:{id}', params: ['id'] },
    fields: [],
    persist: true,
    delivery: 'broadcast',
    presence: false,
    access: 'authenticated',
  })
  t.throws(() => toChannelSpec({}, root), { message: /name is required/ })
})

t.test('channel view › sample users follow the access mode', async t => {
  const root = scratchRoot()
  const view = (answers: Record<string, unknown>) => channelView(toChannelSpec(answers, root))
  t.match(view({ name: 'notes', pattern: 'notes:{userId}', access: 'owner' }), {
    channelLiteral: "'notes:alice'",
    subscriber: 'alice',
    publisher: 'alice',
    param: 'userId',
    paramToken: '{userId}',
  })
  t.match(view({ name: 'room', pattern: 'room:{roomId}:{topic}', access: 'members' }), {
    channelLiteral: "'room:group1:alice'",
    group: 'group1',
    publisher: 'bob',
  })
  t.match(view({ name: 'dm', pattern: 'dm:{a}:{b}', delivery: 'at-least-once' }), { channelLiteral: "'dm:alice:bob'", atLeastOnce: true, param: undefined })
})

t.test('notification answers › kind is reserved; the inbox is written only when missing', async t => {
  const root = scratchRoot()
  t.match(toNotificationSpec({ name: 'mention', fields: 'room:string' }, root), { name: 'mention', writeInbox: true })
  t.throws(() => toNotificationSpec({ name: 'mention', fields: 'kind:string' }, root), { message: /"kind" is reserved/ })
  mkdirSync(join(root, 'example-app/src/channels/inbox'), { recursive: true })
  writeFileSync(join(root, 'example-app/src/channels/inbox/channel.ts'), "defineChannel({ pattern: 'user:{id}' })\n")
  t.throws(() => toNotificationSpec({ name: 'mention' }, root), { message: /channels\/inbox\/channel.ts already uses the namespace "user"/ })
})
