import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TestClient } from '@switchboard/core/testing'
import { pageBundle } from '../src/api/page-bundle.js'
import { startApp, type AppProcess } from './helpers/app-process.js'
import { ChatPage, launchChromium, type RenderedMessage } from './helpers/chat-page.js'
import { testServices } from './helpers/test-services.js'

/**
 * The chat page at `/` in headless Chromium, against the app as `npm start` runs it (main.ts in
 * a process of its own, the real PostgreSQL and Redis): two tabs log in as alice and bob, chat
 * in a room, see each other's typing and presence, exchange DMs, bob gets a mention
 * notification; then the server restarts on the same port and both tabs carry on. Each tab's
 * message lists are compared with the server's history at the end. Screenshots land in
 * example-app/test/output/ (ignored by git).
 */

const OUTPUT = fileURLToPath(new URL('./output/', import.meta.url))
/** Per step: the machine may be busy. */
const STEP_MS = 45_000
/** Lobby messages written before the pages open: more than one history page (50). */
const SEEDED = 70

const apps: ChildProcess[] = []
const { schema, prefix } = testServices(t, () => Promise.all(apps.map(stop)))

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/** main.ts on `port` (0: any) against the file's schema and prefix, without tap's loaders. */
async function start(port: number): Promise<AppProcess> {
  const app = await startApp({
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'development',
    NODE_OPTIONS: '',
    DATABASE_URL: schema.url,
    SWITCHBOARD_REDIS_PREFIX: prefix,
    SWITCHBOARD_JWT_SECRET: 'web-page-test-secret',
  })
  apps.push(app.child)
  return app
}

t.test('chat page › two users chat, type, see presence, DM and get a mention; both carry on across a server restart', async t => {
  const began = Date.now()
  let app = await start(0)
  const base = `http://127.0.0.1:${app.port}`
  const page = await fetch(`${base}/`)
  t.equal(page.status, 200, 'GET / serves the page')
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/, 'with a content security policy')
  const script = await fetch(`${base}/app.js`)
  t.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8', '/app.js is the bundled page script')
  t.ok((await script.text()).length > 10_000, 'the bundle holds the client SDK')
  const again = await fetch(`${base}/app.js`, { headers: { 'if-none-match': script.headers.get('etag')! } })
  t.equal(again.status, 304, 'an unchanged script is not sent again (ETag)')
  const { inputs } = await pageBundle()
  t.ok(inputs.every(input => /^(client\/src|example-app\/web\/src)\//.test(input)), `only the SDK and the page's sources are bundled (${inputs.length} files), no server code`)

  // Lobby history from carol, over a plain WebSocket, before anyone opens the page.
  const devToken = async (user: string): Promise<string> =>
    ((await (await fetch(`${base}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user }) })).json()) as { token: string }).token
  const { client: carol } = await TestClient.connect(`ws://127.0.0.1:${app.port}/ws`, await devToken('carol'))
  for (let i = 1; i <= SEEDED; i++) await carol.request({ type: 'publish', channel: 'room:lobby', data: { text: `seed ${i}` } })
  await carol.close()

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  // One browser context: the two users are two tabs, told apart by sessionStorage.
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } })
  const alice = await ChatPage.logIn(context, base, 'alice', STEP_MS)
  const bob = await ChatPage.logIn(context, base, 'bob', STEP_MS)
  t.pass('alice and bob log in (two tabs of one browser) and connect')

  // Both land in the lobby; presence shows who is there.
  await alice.waitForMembers(['alice', 'bob'])
  await bob.waitForMembers(['alice', 'bob'])
  t.pass('lobby presence: each sees both')

  // The lobby opens on its latest history page; older pages come with the button or by scrolling up.
  const shown = (chat: ChatPage, count: number): Promise<unknown> =>
    chat.page.waitForFunction(wanted => document.querySelectorAll('#messages li.message').length === wanted, count)
  await shown(bob, 50)
  t.equal(await bob.page.locator('#messages li.message .text').first().textContent(), `seed ${SEEDED - 49}`, 'the lobby opens on the latest 50 messages')
  await bob.page.getByRole('button', { name: 'Load earlier messages' }).click()
  await shown(bob, SEEDED)
  await bob.page.getByRole('button', { name: 'Load earlier messages' }).waitFor({ state: 'hidden' })
  t.pass(`"Load earlier messages" loads the rest (${SEEDED}); the button goes once the first message is shown`)
  await shown(alice, 50)
  await alice.page.locator('#messages').evaluate(list => list.scrollTo(0, 0))
  await shown(alice, SEEDED)
  t.pass('scrolling to the top loads the older page too')

  // Alice creates a room with bob; bob's list shows it after a refresh.
  await alice.page.getByText('New room').click()
  await alice.page.getByLabel('Name', { exact: true }).fill('Design')
  await alice.page.getByLabel(/^Members/).fill('bob')
  await alice.page.getByRole('button', { name: 'Create room' }).click()
  await alice.page.waitForFunction(() => document.getElementById('chat-view')?.dataset['channel']?.startsWith('room:design-'))
  const room = (await alice.page.locator('#chat-view').getAttribute('data-channel'))!
  await bob.page.getByRole('button', { name: 'Refresh the room list' }).click()
  await bob.open(room)
  t.match(room, /^room:design-[0-9a-f]{12}$/, `alice created ${room} and both opened it`)
  await alice.waitForMembers(['alice', 'bob'])
  await bob.waitForMembers(['alice', 'bob'])
  t.pass('room presence: each sees the other join')

  // Typing indicators, both ways, and the messages that follow.
  await bob.type('hi alice')
  await alice.waitForTyping('bob is typing…')
  await bob.page.getByLabel('Message', { exact: true }).press('Enter')
  await alice.waitForMessage('hi alice')
  await alice.waitForTyping('')
  await alice.type('hello bob, shall we')
  await bob.waitForTyping('alice is typing…')
  await alice.page.getByLabel('Message', { exact: true }).press('Enter')
  await bob.waitForMessage('hello bob, shall we')
  await bob.waitForTyping('')
  t.pass('typing shows on the other page ("bob is typing…", "alice is typing…") and clears on send')
  await alice.send('<b>not bold</b> & <script>alert(1)</script>')
  await bob.waitForMessage('<b>not bold</b> & <script>alert(1)</script>')
  t.equal(await bob.page.locator('#messages b, #messages script').count(), 0, 'user text is shown as text, never parsed as HTML')

  // A mention in the lobby while bob is in the room: a toast and a badge.
  await alice.open('room:lobby')
  await alice.send('@bob can you look at the new room?')
  const toast = bob.page.locator('.toast.mention')
  await toast.waitFor()
  t.match(await toast.textContent(), /alice mentioned you in Lobby: “@bob can you look at the new room\?”/i, 'bob gets a mention notification')
  await bob.page.locator('button.conversation-link[data-channel="room:lobby"] .mention-badge').waitFor()
  t.pass('the lobby is marked with a mention badge in bob’s sidebar')
  await toast.getByRole('button', { name: 'Show' }).click()
  await bob.page.waitForFunction(() => document.getElementById('chat-view')?.dataset['channel'] === 'room:lobby')
  await bob.page.locator('#messages li.mentions-me.highlight').waitFor()
  t.pass('the toast opens the lobby at the message, marked as mentioning bob')

  // A DM started by typing a name; bob's page lists it with an unread badge.
  await alice.page.getByLabel('Message a user').fill('bob')
  await alice.page.getByLabel('Message a user').press('Enter')
  await alice.page.waitForFunction(() => document.getElementById('chat-view')?.dataset['channel'] === 'dm:alice:bob')
  await alice.send('a word in private')
  await bob.page.locator('button.conversation-link[data-channel="dm:alice:bob"] .badge').waitFor()
  await bob.open('dm:alice:bob')
  await bob.waitForMessage('a word in private')
  await bob.send('private reply')
  await alice.waitForMessage('private reply')
  t.pass('alice opens dm:alice:bob by name; bob sees it in his sidebar, reads and replies')

  // Both back in the room for the restart.
  await alice.open(room)
  await bob.open(room)
  await alice.recordStates()
  await bob.recordStates()
  const stopping = Date.now()
  await stop(app.child)
  await Promise.all([alice.waitForState('reconnecting', 'connecting'), bob.waitForState('reconnecting', 'connecting')])
  t.match(await alice.page.locator('#connection').textContent(), /reconnect|connecting/i, 'the page shows it is reconnecting')
  // Written while the server is down: queued by the SDK, shown as pending.
  await alice.send('written while the server was down')
  await alice.page.locator('#messages li.pending').waitFor()
  app = await start(Number(new URL(base).port))
  const restarted = Date.now()
  await Promise.all([alice.waitForState('connected'), bob.waitForState('connected')])
  const reconnected = Date.now()
  t.pass(`server down ${restarted - stopping} ms; both pages connected again ${reconnected - restarted} ms after the restart`)
  await bob.waitForMessage('written while the server was down')
  t.pass('the message queued during the restart reached bob')
  await bob.send('after the restart')
  await alice.waitForMessage('after the restart')
  await alice.page.locator('#messages li.pending').waitFor({ state: 'detached' })
  t.pass('a message sent after the restart reaches alice; nothing left pending')
  for (const chat of [alice, bob]) {
    const states = await chat.recordedStates()
    t.ok(states.includes('reconnecting') && states.at(-1) === 'connected', `${chat.user}: ${states.join(' → ')}`)
  }

  // Every conversation, on both pages, is exactly the server's history: nothing lost, nothing twice.
  const token = await devToken('alice')
  const history = async (channel: string): Promise<RenderedMessage[]> => {
    const answer = await fetch(`${base}/api/channels/${encodeURIComponent(channel)}/messages?limit=100`, { headers: { authorization: `Bearer ${token}` } })
    const { messages } = (await answer.json()) as { messages: { seq: number; from: string; data: { text: string } }[] }
    return messages.map(message => ({ seq: message.seq, from: message.from, text: message.data.text }))
  }
  let compared = 0
  for (const channel of [room, 'room:lobby', 'dm:alice:bob']) {
    const expected = await history(channel)
    for (const chat of [alice, bob]) {
      await chat.open(channel)
      // The page may still be merging its history page: wait until it shows as many messages.
      await chat.page.waitForFunction(count => document.querySelectorAll('#messages li.message:not(.pending)').length >= count, expected.length)
      const { stored, pending } = await chat.messages()
      t.same(stored, expected, `${chat.user} shows ${channel} exactly as stored (${expected.length} messages)`)
      t.equal(pending, 0, `${chat.user}: nothing pending in ${channel}`)
      compared += stored.length
    }
  }
  t.equal((await history(room)).length, 5, 'the room holds the five messages sent in it')
  t.comment(`${compared} rendered messages compared with the server's history`)

  // A picture for people: bob in the room with a mention toast; alice's tab, with bob typing, in the second file.
  mkdirSync(OUTPUT, { recursive: true })
  await bob.open(room)
  await alice.open(room)
  await alice.send('@bob the restart went fine')
  await bob.page.locator('.toast.mention', { hasText: 'the restart went fine' }).waitFor()
  await bob.type('@alice looks good')
  await alice.waitForTyping('bob is typing…')
  await bob.page.screenshot({ path: `${OUTPUT}chat.png` })
  await alice.page.screenshot({ path: `${OUTPUT}chat-alice.png` })
  t.same([...alice.errors, ...bob.errors], [], 'no uncaught errors in either page')
  const refused = [...alice.consoleErrors, ...bob.consoleErrors].filter(text => /Content Security Policy|Refused to/i.test(text))
  t.same(refused, [], 'nothing refused by the content security policy')
  t.comment(`console errors (connections refused while the server was down): ${alice.consoleErrors.length + bob.consoleErrors.length}`)
  t.comment(`screenshots: ${OUTPUT}chat.png, ${OUTPUT}chat-alice.png; the test took ${Date.now() - began} ms`)
  await context.close()
})
