import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { TestClient } from '@switchboard/core/testing'
import { appHarness, SECRET, type HttpAnswer } from './helpers/app-harness.js'

/**
 * EXAMPLE-APP.md's HTTP table (all but `GET /`, `/healthz` and `/readyz`, which main.test.ts
 * covers): `POST /api/dev/token`, `POST /api/rooms`, `GET /api/rooms`,
 * `GET /api/channels/:channel/messages` and `GET /metrics`, on the app as main.ts builds it,
 * with the real PostgreSQL and Redis. Every refusal is a coded JSON error with its status, and
 * changes nothing.
 */

const harness = appHarness(t)
const node = await harness.startNode()
const alice = await harness.token('alice')
const bob = await harness.token('bob')
const carol = await harness.token('carol')

/** An HS256 token signed with the nodes' secret whose `exp` is an hour ago. */
function expiredToken(user: string): string {
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: user, iat: now - 7200, exp: now - 3600 })}`
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`
}

/** Asserts a coded JSON error: `{ error: { code, message, details? } }`, no stack trace. */
function isError(t: Test, answer: HttpAnswer, status: number, code: string, why: string): void {
  t.equal(answer.status, status, `${why}: status ${status}`)
  t.match(answer.headers.get('content-type'), /^application\/json/, `${why}: JSON`)
  t.match(answer.body, { error: { code, message: String } }, `${why}: code ${code}`)
  t.notMatch(answer.text, /\bat .+:\d+:\d+|\.ts\b|node_modules/, `${why}: no stack trace`)
}

const count = async (table: string): Promise<number> => (await harness.sql(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n

t.test('POST /api/dev/token › a token for a valid user name, usable over WebSocket and HTTP', async t => {
  const answer = await harness.http(node, 'POST', '/api/dev/token', { body: { user: 'alice' } })
  t.equal(answer.status, 200)
  t.match(answer.body, { token: String, user: 'alice', exp: Number })
  t.ok(answer.body.exp > Date.now() / 1000 + 3600, 'valid for hours')
  const { client, connected } = await TestClient.connect(node.wsUrl, answer.body.token)
  t.teardown(() => client.close())
  t.equal(connected.user, 'alice', 'connect accepts it')
  t.equal((await harness.http(node, 'GET', '/api/rooms', { token: answer.body.token })).status, 200, 'so does the API')
})

t.test('POST /api/dev/token › bad requests are coded errors', async t => {
  const cases: [string, unknown, number, string][] = [
    ['empty name', { user: '' }, 400, 'VALIDATION'],
    ['a space', { user: 'a b' }, 400, 'VALIDATION'],
    ['a colon (it would split channel names)', { user: 'a:b' }, 400, 'VALIDATION'],
    ['the reserved name system (the from of server messages)', { user: 'system' }, 400, 'VALIDATION'],
    ['33 characters', { user: 'x'.repeat(33) }, 400, 'VALIDATION'],
    ['not a string', { user: 42 }, 400, 'VALIDATION'],
    ['no user', {}, 400, 'VALIDATION'],
    ['an unknown field', { user: 'alice', admin: true }, 400, 'VALIDATION'],
    ['an array', ['alice'], 400, 'VALIDATION'],
    ['not JSON', '{"user": "alice"', 400, 'BAD_FRAME'],
    ['an empty body', '', 400, 'BAD_FRAME'],
    ['a body over 16 KiB', { user: 'alice', pad: 'x'.repeat(20_000) }, 413, 'BAD_FRAME'],
  ]
  for (const [why, body, status, code] of cases) {
    const answer = await harness.http(node, 'POST', '/api/dev/token', { body, headers: { 'content-type': 'application/json' } })
    isError(t, answer, status, code, why)
    if (code === 'VALIDATION') t.match(answer.body.error.details, [{ path: String, message: String }], `${why}: details`)
  }
  const wrongMethod = await harness.http(node, 'GET', '/api/dev/token')
  isError(t, wrongMethod, 405, 'BAD_FRAME', 'GET')
  t.equal(wrongMethod.headers.get('allow'), 'POST')
})

t.test('POST /api/dev/token › 404 when NODE_ENV=production', async t => {
  const production = await harness.startNode({ env: { NODE_ENV: 'production' } })
  const answer = await harness.http(production, 'POST', '/api/dev/token', { body: { user: 'alice' } })
  t.equal(answer.status, 404)
  t.same(answer.body, (await harness.http(production, 'POST', '/api/no-such-route', { body: { user: 'alice' } })).body, 'exactly like a route that does not exist')
  t.equal((await harness.http(production, 'GET', '/api/rooms', { token: alice })).status, 200, 'the rest of the API is served')
  await production.close()
})

t.test('POST /api/rooms › creates a room in PostgreSQL; the creator is a member', async t => {
  const answer = await harness.http(node, 'POST', '/api/rooms', { token: alice, body: { name: '  Design Team  ', members: ['bob', 'alice', 'bob'] } })
  t.equal(answer.status, 201)
  const { room } = answer.body
  t.match(room, { id: /^design-team-[0-9a-f]{12}$/, name: 'Design Team', createdBy: 'alice', members: ['alice', 'bob'], createdAt: String })
  t.equal(room.channel, `room:${room.id}`)
  const rows = await harness.sql('SELECT user_id FROM room_members WHERE room_id = $1 ORDER BY user_id', [room.id])
  t.same(rows.rows.map(row => row.user_id), ['alice', 'bob'], 'memberships stored')
  const members = await TestClient.connect(node.wsUrl, bob)
  const outsider = await TestClient.connect(node.wsUrl, carol)
  t.teardown(() => Promise.all([members.client.close(), outsider.client.close()]))
  t.match(await members.client.request({ type: 'subscribe', channel: room.channel }), { type: 'subscribed' }, 'a member may subscribe')
  t.match(await outsider.client.request({ type: 'subscribe', channel: room.channel }), { type: 'error', code: 'FORBIDDEN' }, 'others may not')
  const unnamed = await harness.http(node, 'POST', '/api/rooms', { token: carol, body: { name: '日本語' } })
  t.match(unnamed.body.room, { id: /^room-[0-9a-f]{12}$/, name: '日本語', members: ['carol'] }, 'members is optional; a name without ASCII gets the id room-…')
})

t.test('POST /api/rooms › bad token or body: a coded error, and nothing is created', async t => {
  const before = [await count('rooms'), await count('room_members')]
  const valid = { name: 'Ops', members: ['bob'] }
  const tokens: [string, Record<string, string> | undefined, string][] = [
    ['no Authorization header', undefined, 'UNAUTHORIZED'],
    ['not a Bearer token', { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` }, 'UNAUTHORIZED'],
    ['a garbage token', { authorization: 'Bearer not.a.token' }, 'UNAUTHORIZED'],
    ['a token signed with another secret', { authorization: `Bearer ${expiredToken('alice').replace(/\.[^.]+$/, '.c2lnbmF0dXJl')}` }, 'UNAUTHORIZED'],
    ['an expired token', { authorization: `Bearer ${expiredToken('alice')}` }, 'TOKEN_EXPIRED'],
  ]
  for (const [why, headers, code] of tokens) {
    const answer = await harness.http(node, 'POST', '/api/rooms', { body: valid, ...(headers ? { headers } : {}) })
    isError(t, answer, 401, code, why)
    t.match(answer.headers.get('www-authenticate'), /^Bearer/, `${why}: WWW-Authenticate`)
  }
  const bodies: [string, unknown, number, string, string?][] = [
    ['no name', { members: [] }, 400, 'VALIDATION', 'name'],
    ['a blank name', { name: '   ' }, 400, 'VALIDATION', 'name'],
    ['a name of 101 characters', { name: 'n'.repeat(101) }, 400, 'VALIDATION', 'name'],
    ['members not an array', { name: 'Ops', members: 'bob' }, 400, 'VALIDATION', 'members'],
    ['a bad member name', { name: 'Ops', members: ['bob', 'no body'] }, 400, 'VALIDATION', 'members.1'],
    ['the reserved member name system', { name: 'Ops', members: ['system'] }, 400, 'VALIDATION', 'members.0'],
    ['101 members', { name: 'Ops', members: Array.from({ length: 101 }, (_, i) => `u${i}`) }, 400, 'VALIDATION', 'members'],
    ['an unknown field', { name: 'Ops', private: true }, 400, 'VALIDATION'],
    ['a NUL in the name (PostgreSQL refuses it)', { name: 'O\u0000ps' }, 400, 'VALIDATION', 'name'],
    ['a line break in the name', { name: 'O\nps' }, 400, 'VALIDATION', 'name'],
    ['a lone surrogate in the name', { name: 'Ops \ud800' }, 400, 'VALIDATION', 'name'],
    ['not JSON', 'name=Ops', 400, 'BAD_FRAME'],
    ['a body over 16 KiB', { name: 'Ops', members: [], pad: 'x'.repeat(17_000) }, 413, 'BAD_FRAME'],
  ]
  for (const [why, body, status, code, path] of bodies) {
    const answer = await harness.http(node, 'POST', '/api/rooms', { token: alice, body })
    isError(t, answer, status, code, why)
    if (path !== undefined) t.match(answer.body.error.details, [{ path }], `${why}: details name ${path}`)
  }
  t.same([await count('rooms'), await count('room_members')], before, 'no room and no membership was written')
})

t.test('GET /api/rooms › the rooms the user belongs to, the lobby first', async t => {
  const created = await harness.http(node, 'POST', '/api/rooms', { token: bob, body: { name: 'Bob and Dave', members: ['dave'] } })
  const mine = await harness.http(node, 'GET', '/api/rooms', { token: bob })
  t.equal(mine.status, 200)
  const ids = mine.body.rooms.map((room: { id: string }) => room.id)
  t.equal(ids[0], 'lobby', 'the lobby first')
  t.match(mine.body.rooms[0], { id: 'lobby', name: 'Lobby', channel: 'room:lobby', createdBy: 'system' })
  t.ok(ids.includes(created.body.room.id), 'the room bob created')
  t.ok(ids.some((id: string) => id.startsWith('design-team-')), 'the room alice added him to')
  const stranger = await harness.http(node, 'GET', '/api/rooms', { token: await harness.token('zed') })
  t.same(stranger.body.rooms.map((room: { id: string }) => room.id), ['lobby'], 'a new user belongs to the lobby only')
  isError(t, await harness.http(node, 'GET', '/api/rooms'), 401, 'UNAUTHORIZED', 'no token')
})

t.test('GET /api/channels/:channel/messages › history with the rules of the history frame', async t => {
  const created = await harness.http(node, 'POST', '/api/rooms', { token: alice, body: { name: 'History', members: ['bob'] } })
  const channel = created.body.room.channel as string
  const { client } = await TestClient.connect(node.wsUrl, alice)
  t.teardown(() => client.close())
  for (let i = 1; i <= 5; i++) await client.request({ type: 'publish', channel, data: { text: `m${i}` } })
  const get = (path: string, token: string | null = bob): Promise<HttpAnswer> => harness.http(node, 'GET', path, token === null ? {} : { token })
  const base = `/api/channels/${encodeURIComponent(channel)}/messages`
  const texts = (answer: HttpAnswer): string[] => answer.body.messages.map((message: { data: { text: string } }) => message.data.text)

  const all = await get(base)
  t.equal(all.status, 200)
  t.match(all.body, { channel, messages: [{ channel, seq: 1, epoch: String, mid: String, from: 'alice', data: { text: 'm1' }, ts: Number }] })
  t.same(texts(all), ['m1', 'm2', 'm3', 'm4', 'm5'], 'default limit (50): everything, oldest first')
  t.same(texts(await get(`${base}?limit=2`)), ['m4', 'm5'], 'limit: the latest')
  t.same(texts(await get(`${base}?before=4&limit=2`)), ['m2', 'm3'], 'before: the ones before that seq')
  t.same(texts(await get(`/api/channels/${channel}/messages?limit=1`)), ['m5'], 'the channel name unencoded works too')
  const frame = await client.request({ type: 'history', channel, before: 4, limit: 2 })
  t.same((await get(`${base}?before=4&limit=2`)).body.messages, frame.messages, 'the same messages as the history frame')

  for (const [why, query] of [
    ['limit 0', 'limit=0'],
    ['limit 101', 'limit=101'],
    ['limit not a number', 'limit=ten'],
    ['limit not an integer', 'limit=1.5'],
    ['before 0', 'before=0'],
    ['an unknown parameter', 'after=3'],
    ['limit twice', 'limit=1&limit=2'],
  ]) {
    isError(t, await get(`${base}?${query}`), 400, 'VALIDATION', why!)
  }
  t.equal((await get(`${base}?limit=100`)).status, 200, 'limit 100 is allowed')
  isError(t, await get(base, null), 401, 'UNAUTHORIZED', 'no token')
  isError(t, await get(base, carol), 403, 'FORBIDDEN', 'a non-member')
  isError(t, await get('/api/channels/nope%3Ax/messages'), 404, 'UNKNOWN_CHANNEL', 'an unknown namespace')
  isError(t, await get('/api/channels/room%3Aa%3Ab/messages'), 404, 'UNKNOWN_CHANNEL', 'a name the pattern does not match')
  isError(t, await get('/api/channels/room%E0%A4%A/messages'), 400, 'BAD_FRAME', 'bad percent-encoding')
  isError(t, await get('/api/channels/room%3A%00x/messages'), 400, 'BAD_FRAME', 'a NUL in the name, as the frame refuses it')
  isError(t, await get('/api/channels/room%3Aa%20b/messages'), 400, 'BAD_FRAME', 'a space in the name')
  isError(t, await get(`/api/channels/room%3A${'x'.repeat(196)}/messages`), 400, 'BAD_FRAME', 'a name over 200 characters')
  isError(t, await get('/api/channels/lobby/messages'), 400, 'BAD_FRAME', 'no namespace')
  const reversed = await get('/api/channels/dm%3Abob%3Aalice/messages', alice)
  isError(t, reversed, 403, 'FORBIDDEN', 'a DM in the wrong order')
  t.match(reversed.body.error.message, '"dm:alice:bob"', 'naming the canonical channel')
  const typing = await get(`/api/channels/typing%3A${created.body.room.id}/messages`)
  t.same(typing.body, { channel: `typing:${created.body.room.id}`, messages: [] }, 'a channel that is not persisted has none')
  t.equal((await get('/api/channels/user%3Abob/messages')).status, 200, 'the owner reads an inbox')
  isError(t, await get('/api/channels/user%3Abob/messages', alice), 403, 'FORBIDDEN', 'others do not')
  t.equal((await get('/api/channels/room%3Alobby/messages', carol)).status, 200, 'everyone reads the lobby')
})

t.test('GET /metrics › the Prometheus text format from switchboard.metrics', async t => {
  const answer = await harness.http(node, 'GET', '/metrics')
  t.equal(answer.status, 200)
  t.match(answer.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  for (const name of [
    'switchboard_connections',
    'switchboard_frames_in_total',
    'switchboard_publishes_total',
    'switchboard_redeliveries_total',
    'switchboard_dead_letters_total',
    'switchboard_slow_consumer_closes_total',
    'switchboard_dispatch_queue_depth',
    'switchboard_engine_errors_total',
    'switchboard_delivery_latency_seconds',
  ]) {
    t.match(answer.text, new RegExp(`^# TYPE ${name} `, 'm'), name)
  }
  const publishes = /^switchboard_publishes_total\{namespace="room"\} (\d+)$/m.exec(answer.text)
  t.ok(publishes && Number(publishes[1]) >= 5, `the room publishes of the history test are counted (${publishes?.[1]})`)
  isError(t, await harness.http(node, 'POST', '/metrics'), 405, 'BAD_FRAME', 'POST')
})

t.test('errors › an unknown route is a JSON 404; an internal failure is 500 INTERNAL without internals', async t => {
  isError(t, await harness.http(node, 'GET', '/api/nothing-here', { token: alice }), 404, 'NOT_FOUND', 'unknown route')
  await harness.sql('ALTER TABLE rooms RENAME TO rooms_away')
  t.teardown(() => harness.sql('ALTER TABLE rooms_away RENAME TO rooms'))
  const broken = await harness.http(node, 'GET', '/api/rooms', { token: alice })
  isError(t, broken, 500, 'INTERNAL', 'the rooms table is gone')
  t.same(broken.body, { error: { code: 'INTERNAL', message: 'Internal server error.' } }, 'the generic message only')
  t.notMatch(broken.text, /rooms_away|relation|prisma|postgres/i, 'nothing about the database')
})

