import t from 'tap'
import { existsSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { copyRepo, type RepoCopy, type RunResult } from './helpers/repo-copy.js'

/**
 * The generators through the real CLI (`npx plop ...`, no terminal) in throwaway copies of the
 * repository: one copy receives a channel per option combination and a notification, then is
 * type-checked and runs the generated tests once; a second copy checks determinism.
 */

/**
 * Channels covering every option that changes the output; the first is the command of the docs.
 * poll: authenticated, persisted broadcast, no fields. room: members, several params, presence,
 * at-least-once with the default recipients. notes: owner (recipients, presence and join differ),
 * every field type. audit-log: custom (default deny). status: no params, not persisted.
 */
const CHANNELS: readonly { name: string; flags: readonly string[] }[] = [
  { name: 'poll', flags: ['--pattern', 'poll:{pollId}', '--persist', 'true', '--delivery', 'broadcast', '--presence', 'false', '--access', 'authenticated'] },
  {
    name: 'room',
    flags: ['--pattern', 'room:{roomId}:{thread}', '--fields', 'text:string, replyTo:string?', '--delivery', 'at-least-once', '--presence', 'true', '--access', 'members'],
  },
  {
    name: 'notes',
    flags: ['--pattern', 'notes:{userId}', '--fields', 'title:string, pinned:boolean, rank:integer?, weight:number', '--delivery', 'at-least-once', '--presence', 'true', '--access', 'owner'],
  },
  { name: 'audit-log', flags: ['--pattern', 'audit:{orgId}:events', '--fields=-', '--delivery', 'at-least-once', '--presence', 'true', '--access', 'custom'] },
  { name: 'status', flags: ['--pattern', 'status:global', '--persist', 'false', '--presence', 'true'] },
]

/**
 * Runs `npx plop <generator> -- --name <name> ...flags` in a copy. With `direct`, runs the same
 * CLI from node_modules/.bin without npx (what npx resolves to), saving npm's start-up.
 */
function plop(copy: RepoCopy, generator: string, name: string | undefined, flags: readonly string[], direct = false): Promise<RunResult> {
  const args = [generator, '--', ...(name === undefined ? [] : ['--name', name]), ...flags]
  return direct ? copy.run(join(copy.dir, 'node_modules/.bin/plop'), args) : copy.run('npx', ['plop', ...args])
}

/** Every file under `dir` of the copy with its content, by path relative to the copy. */
function snapshot(copy: RepoCopy, dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  const walk = (path: string): void => {
    if (statSync(path).isDirectory()) readdirSync(path).forEach(entry => walk(join(path, entry)))
    else files[relative(copy.dir, path)] = readFileSync(path, 'utf8')
  }
  walk(join(copy.dir, dir))
  return files
}

/**
 * A copy whose app has no channels or notifications yet (as on a fresh template), whatever the
 * real app has generated since: the names used here and the inbox's creation stay predictable.
 */
async function freshCopy(): Promise<RepoCopy> {
  const copy = await copyRepo()
  const channels = join(copy.dir, 'example-app/src/channels')
  for (const entry of readdirSync(channels, { withFileTypes: true })) {
    if (entry.isDirectory()) rmSync(join(channels, entry.name), { recursive: true })
  }
  rmSync(join(copy.dir, 'example-app/src/notifications'), { recursive: true, force: true })
  return copy
}

const read = (copy: RepoCopy, path: string): string => readFileSync(join(copy.dir, path), 'utf8')
const channelFiles = (name: string): string[] => ['schema.ts', 'channel.ts', `${name}.test.ts`].map(file => `example-app/src/channels/${name}/${file}`)

const copy = await freshCopy()
t.teardown(() => copy.remove())

t.test('copy › @switchboard/core resolves to the copy, not the real tree', async t => {
  t.equal(realpathSync(join(copy.dir, 'node_modules/@switchboard/core')), realpathSync(join(copy.dir, 'core')))
})

t.test('npx plop › without a terminal, prints the generator list and ends with stdin', async t => {
  // Plop's chooser (an inquirer list) stops when stdin ends; its exit status depends on how the
  // parent handles SIGINT (130 from a shell), so only the output is checked.
  const result = await copy.run('npx', ['plop'])
  const output = result.stdout + result.stderr
  t.match(output, /channel - a typed channel: schema, definition and test/)
  t.match(output, /notification - a typed notification for user inboxes/)
})

t.test('npx plop channel › writes a channel per option combination and lists them all in the index', async t => {
  for (const [i, { name, flags }] of CHANNELS.entries()) {
    const result = await plop(copy, 'channel', name, flags, i > 0)
    t.equal(result.code, 0, `${name}: exit 0 (${result.stderr})`)
    for (const file of channelFiles(name)) t.ok(existsSync(join(copy.dir, file)), file)
  }
  const index = read(copy, 'example-app/src/channels/index.ts')
  t.match(index, /^\/\/ Regenerated by `npx plop channel` .*do not edit\./)
  const sorted = CHANNELS.map(channel => channel.name).sort()
  t.same([...index.matchAll(/^import \{ (\w+) \} from '\.\/([\w-]+)\/channel\.js'$/gm)].map(match => match[2]), sorted, 'one import per channel, sorted')
  t.match(index, 'export const channels = [auditLogChannel, notesChannel, pollChannel, roomChannel, statusChannel] as const')
  t.match(index, 'export type ChannelMap = ChannelMapOf<typeof channels>')
})

t.test('npx plop channel › writes what the options say', async t => {
  const room = read(copy, 'example-app/src/channels/room/channel.ts')
  t.match(read(copy, 'example-app/src/channels/room/schema.ts'), /export const roomSchema = z\.strictObject\(\{\n {2}text: z\.string\(\)\.min\(1\)\.max\(4000\),\n {2}replyTo: z\.string\(\)\.min\(1\)\.max\(4000\)\.optional\(\),\n\}\)/)
  t.match(room, /memberships\.isMember\(params\.roomId, user\)/)
  t.match(room, /recipients: \(\{ params, from \}\) => Object\.values\(params\)\.filter\(user => user !== from\)/)
  t.match(room, /presence: true,\n {2}delivery: 'at-least-once',/)
  const notes = read(copy, 'example-app/src/channels/notes/channel.ts')
  t.match(read(copy, 'example-app/src/channels/notes/schema.ts'), /pinned: z\.boolean\(\),\n {2}rank: z\.number\(\)\.int\(\)\.optional\(\),\n {2}weight: z\.number\(\),/)
  t.match(notes, /recipients: \(\{ params \}\) => \[params\.userId\]/)
  t.match(notes, /subscribe: \(\{ user, params \}\) => user === params\.userId/)
  t.match(read(copy, 'example-app/src/channels/audit-log/channel.ts'), /Default deny: write your rule/)
  t.match(read(copy, 'example-app/src/channels/audit-log/schema.ts'), /z\.strictObject\(\{\n {2}\/\/ No fields yet/)
  t.match(read(copy, 'example-app/src/channels/status/channel.ts'), /persist: false,/)
  t.match(read(copy, 'example-app/src/channels/status/status.test.ts'), /not persisted: history is empty/)
  const poll = read(copy, 'example-app/src/channels/poll/channel.ts')
  t.notMatch(poll, /recipients/)
  t.match(poll, /subscribe: \(\) => true,\n {4}publish: \(\) => true,/)
  for (const file of ['schema.ts', 'channel.ts', 'poll.test.ts']) {
    t.match(read(copy, `example-app/src/channels/poll/${file}`), /^\/\/ Generated by `npx plop channel`; yours to edit/, `${file} says it is yours`)
  }
})

t.test('npx plop notification › writes the notification, the inbox channel once, and both indexes', async t => {
  const first = await plop(copy, 'notification', 'mention', ['--fields', 'room:string, mid:string, from:string, text:string'])
  t.equal(first.code, 0, first.stderr)
  t.match(read(copy, 'example-app/src/notifications/mention/notification.ts'), /kind: z\.literal\('mention'\),/)
  t.ok(existsSync(join(copy.dir, 'example-app/src/notifications/mention/mention.test.ts')))
  const inbox = read(copy, 'example-app/src/channels/user/channel.ts')
  t.match(inbox, /pattern: 'user:\{id\}'/)
  t.match(read(copy, 'example-app/src/channels/index.ts'), /import \{ userChannel \} from '\.\/user\/channel\.js'/)

  // The inbox is the user's now: a second notification leaves it as it is.
  writeFileSync(join(copy.dir, 'example-app/src/channels/user/channel.ts'), `${inbox}// edited\n`)
  const second = await plop(copy, 'notification', 'room-invite', ['--fields', 'note:string?'], true)
  t.equal(second.code, 0, second.stderr)
  t.match(read(copy, 'example-app/src/channels/user/channel.ts'), /\/\/ edited\n$/)
  t.match(read(copy, 'example-app/src/notifications/index.ts'), "z.discriminatedUnion('kind', [mentionNotification, roomInviteNotification])")
})

t.test('generated code › type-checks under the strict tsconfig and its tests pass', async t => {
  // The repo's compiler options, on the generated folders (and what they import) only.
  const include = ['example-app/src/channels', 'example-app/src/notifications']
  writeFileSync(join(copy.dir, 'tsconfig.generated.json'), JSON.stringify({ extends: './tsconfig.json', include }))
  // Every generated test in one tap process (tap's TypeScript loader compiles core again in each
  // process, about 3 s of CPU), and one of them alone, as a user runs it.
  const tests = [
    ...CHANNELS.map(({ name }) => `channels/${name}/${name}.test.js`),
    'notifications/mention/mention.test.js',
    'notifications/room-invite/room-invite.test.js',
  ]
  writeFileSync(join(copy.dir, 'example-app/src/all-generated.test.ts'), tests.map(path => `await import('./${path}')\n`).join(''))
  const [tsc, tap] = await Promise.all([
    copy.run('npx', ['tsc', '-p', 'tsconfig.generated.json', '--noEmit']),
    copy.run('npx', ['tap', '-R', 'tap', 'example-app/src/channels/room/room.test.ts', 'example-app/src/all-generated.test.ts']),
  ])
  t.equal(tsc.code, 0, `tsc: ${tsc.stdout}${tsc.stderr}`)
  const summary = /^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/m.exec(tap.stdout)
  t.equal(tap.code, 0, `tap: ${tap.stdout.slice(-4000)}${tap.stderr}`)
  t.ok(summary, 'tap printed its summary')
  t.equal(summary?.[3] ?? '0', '0', 'no failures')
  t.ok(Number(summary?.[1]) >= 50, `the generated tests ran (${summary?.[0]})`)
})

t.test('npx plop channel › refuses bad input with a clear message and writes nothing', async t => {
  const before = snapshot(copy, 'example-app')
  const cases: readonly { why: string; name?: string; flags?: readonly string[]; message: RegExp }[] = [
    { why: 'upper case', name: 'Poll2', message: /name "Poll2" is not kebab-case/ },
    { why: 'reserved word', name: 'class', message: /name "class" is a JavaScript reserved word/ },
    { why: 'leading digit', name: '2fa', message: /name "2fa" must start with a letter/ },
    { why: 'bad pattern', name: 'votes', flags: ['--pattern', 'Votes:{id}'], message: /channel pattern "Votes:\{id\}": expected a namespace/ },
    { why: 'duplicate namespace', name: 'votes', flags: ['--pattern', 'poll:{x}'], message: /namespace "poll" is already used by example-app\/src\/channels\/poll\/channel\.ts/ },
    { why: 'owner without a param', name: 'votes', flags: ['--pattern', 'votes:all', '--access', 'owner'], message: /access owner needs a \{param\}/ },
    { why: 'no name', flags: ['--pattern', 'votes:{id}'], message: /name is required: pass --name/ },
  ]
  const results = await Promise.all(cases.map(({ name, flags = [] }) => plop(copy, 'channel', name, flags, true)))
  cases.forEach(({ why, message }, i) => {
    t.equal(results[i]?.code, 1, `${why}: exit 1`)
    t.match(results[i]?.stderr, message, why)
  })
  t.same(snapshot(copy, 'example-app'), before, 'no file written or changed')
})

t.test('npx plop channel › refuses to overwrite an existing channel, even with --force', async t => {
  const before = snapshot(copy, 'example-app')
  const first = CHANNELS[0]!
  const results = await Promise.all(
    [[], ['--force']].map(force => copy.run('npx', ['plop', 'channel', ...force, '--', '--name', first.name, ...first.flags])),
  )
  for (const result of results) {
    t.equal(result.code, 1)
    t.match(result.stderr, /channel "poll" already exists \(example-app\/src\/channels\/poll\): pick another name; the generator never overwrites files/)
  }
  t.same(snapshot(copy, 'example-app'), before, 'files unchanged')
})

t.test('npx plop channel › is deterministic: the same answers in another copy give identical files', async t => {
  const other = await freshCopy()
  t.teardown(() => other.remove())
  const room = CHANNELS.find(channel => channel.name === 'room')!
  t.equal((await plop(other, 'channel', room.name, room.flags, true)).code, 0)
  for (const file of channelFiles(room.name)) t.equal(read(other, file), read(copy, file), file)
  t.match(read(other, 'example-app/src/channels/index.ts'), 'export const channels = [roomChannel] as const')
})
