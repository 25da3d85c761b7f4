import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { TestClient } from '@switchboard/core/testing'
import { testServices } from './helpers/test-services.js'

/**
 * Two nodes started as `npm start` starts one (`tsx example-app/src/main.ts`), on different ports,
 * against one PostgreSQL schema and one Redis prefix: one service. Users log in over HTTP on
 * either node and share a conversation, its presence and its mentions.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))

const children: ChildProcess[] = []
/** A schema and a prefix, dropped and deleted once every node stopped (SIGTERM, graceful). */
const { schema, prefix } = testServices(t, () => Promise.all(children.map(stop)))

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/** Starts main.ts; resolves with the port it logs once it listens. */
async function startNode(id: string): Promise<{ child: ChildProcess; base: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', NODE_ENV: 'development', DATABASE_URL: schema.url, SWITCHBOARD_REDIS_PREFIX: prefix, SWITCHBOARD_NODE_ID: id }
  // Without tap's loaders: the node starts as `npm start` starts it.
  delete env['NODE_OPTIONS']
  const child = spawn(tsx, ['example-app/src/main.ts'], { cwd: root, env })
  children.push(child)
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk
      const match = /"port":(\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', code => reject(new Error(`node ${id} exited with ${code}: ${output}`)))
  })
  return { child, base: `http://127.0.0.1:${port}` }
}

t.test('two npm-start nodes › one conversation: login, rooms, messages, presence and mentions across nodes', async t => {
  const [one, two] = await Promise.all([startNode('node-one'), startNode('node-two')])
  const login = async (base: string, user: string): Promise<string> => {
    const answer = await fetch(`${base}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user }) })
    t.equal(answer.status, 200, `${user} logs in on ${base}`)
    return ((await answer.json()) as { token: string }).token
  }
  const aliceToken = await login(one.base, 'alice')
  const bobToken = await login(two.base, 'bob')
  const created = await fetch(`${one.base}/api/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${aliceToken}` },
    body: JSON.stringify({ name: 'Across', members: ['bob'] }),
  })
  const { room } = (await created.json()) as { room: { id: string; channel: string } }
  const bobsRooms = (await (await fetch(`${two.base}/api/rooms`, { headers: { authorization: `Bearer ${bobToken}` } })).json()) as { rooms: { id: string }[] }
  t.same(bobsRooms.rooms.map(r => r.id), ['lobby', room.id], 'node two sees the room node one created')

  const alice = await TestClient.connect(`${one.base.replace('http', 'ws')}/ws`, aliceToken)
  const bob = await TestClient.connect(`${two.base.replace('http', 'ws')}/ws`, bobToken)
  t.teardown(() => Promise.all([alice.client.close(), bob.client.close()]))
  t.equal(alice.connected.node, 'node-one')
  t.equal(bob.connected.node, 'node-two')
  await alice.client.request({ type: 'subscribe', channel: room.channel })
  await bob.client.request({ type: 'subscribe', channel: 'user:bob' })
  const joined = alice.client.next(frame => frame.type === 'join' && frame.user === 'bob')
  await bob.client.request({ type: 'subscribe', channel: room.channel })
  await joined
  const message = bob.client.next(frame => frame.type === 'message' && frame.channel === room.channel)
  const mention = bob.client.next(frame => frame.type === 'message' && frame.channel === 'user:bob')
  const published = await alice.client.request({ type: 'publish', channel: room.channel, data: { text: 'hello from node one, @bob' } })
  t.match(await message, { seq: published.seq, from: 'alice', data: { text: 'hello from node one, @bob' } }, 'node one → node two')
  t.match(await mention, { from: 'system', data: { kind: 'mention', room: room.id, mid: published.mid, from: 'alice' } }, 'the mention too')
  const history = await fetch(`${two.base}/api/channels/${encodeURIComponent(room.channel)}/messages`, { headers: { authorization: `Bearer ${bobToken}` } })
  t.match(await history.json(), { messages: [{ mid: published.mid }] }, 'history on node two')
})
