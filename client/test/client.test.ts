import t from 'tap'
import { ConnectionStateMachine, type StateChange } from '../src/connection-state.js'
import { createClient, SwitchboardClient } from '../src/node.js'
import { startNode, token } from './helpers/node.js'
import { nextState, within } from './helpers/wait.js'

const handles = (): string[] =>
  process
    .getActiveResourcesInfo()
    .filter(r => ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate'].includes(r))
    .sort()

t.test('client › the state machine allows only the documented moves and reports each with a reason', async t => {
  const changes: StateChange[] = []
  const machine = new ConnectionStateMachine(change => changes.push(change))
  t.equal(machine.state, 'disconnected')
  t.equal(machine.to('connected', 'connected'), false, 'disconnected → connected is not a move')
  t.ok(machine.to('connecting', 'connect'))
  t.ok(machine.to('reconnecting', 'socket-closed', { closeCode: 1006, delayMs: 700 }))
  t.ok(machine.to('connecting', 'backoff-elapsed'))
  t.ok(machine.to('connected', 'connected'))
  t.ok(machine.to('closed', 'close'))
  t.equal(machine.to('connecting', 'connect'), false, 'closed is final')
  t.same(changes.map(c => `${c.previous}→${c.state}:${c.reason}`), [
    'disconnected→connecting:connect',
    'connecting→reconnecting:socket-closed',
    'reconnecting→connecting:backoff-elapsed',
    'connecting→connected:connected',
    'connected→closed:close',
  ])
  t.match(changes[1], { closeCode: 1006, delayMs: 700 })
})

t.test('client › a node going down and coming back: reasons, backoff delays, resubscribe', async t => {
  const before = handles()
  let node = await startNode()
  const port = node.port
  const client = createClient({ url: node.url, getToken: () => token('alice'), reconnect: { minDelayMs: 20, maxDelayMs: 40 } })
  const changes: StateChange[] = []
  client.on('state', c => changes.push(c))
  const connectedEvents: string[] = []
  client.on('connected', info => connectedEvents.push(info.user))
  t.equal(client.state, 'disconnected')
  client.connect()
  client.connect() // idempotent
  await nextState(client, 'connected')
  t.equal(client.connection?.user, 'alice')
  t.equal(client.connection?.heartbeatMs, 25_000, 'the server’s heartbeat interval')
  await client.channel('room:x').subscribe()
  const down = nextState(client, 'reconnecting')
  await node.close()
  t.match(await down, { reason: 'server-going-away', closeCode: 1001, previous: 'connected' })
  // Refused connections while the node is down: more reconnecting with backoff delays.
  await nextState(client, 'reconnecting', c => c.reason === 'socket-closed')
  node = await startNode({ port })
  const resumed = new Promise(resolve => client.channel('room:x').on('subscribed', resolve))
  await nextState(client, 'connected')
  await within(resumed, 5000, 'the resubscribe')
  t.same(connectedEvents, ['alice', 'alice'])
  const delays = changes.filter(c => c.state === 'reconnecting').map(c => c.delayMs!)
  t.ok(delays.every(d => d >= 20 && d <= 40), `backoff delays within [20, 40] ms (${delays.join(', ')})`)
  t.ok(changes.every(c => c.state !== 'connecting' || ['connect', 'backoff-elapsed'].includes(c.reason)))
  await client.close()
  await client.close() // idempotent
  t.equal(client.state, 'closed')
  await node.close()
  // The node's listening socket may outlive its close() by a tick (see the report); the client owns no server.
  const ours = (list: string[]): string[] => list.filter(h => h !== 'TCPServerWrap')
  t.same(ours(handles()), ours(before), 'no socket or timer left open')
})

t.test('client › the online event retries at once instead of waiting out the backoff', async t => {
  // Node has no `online` event; stand in for the browser's window.
  const target = new EventTarget()
  const g = globalThis as unknown as { addEventListener?: unknown; removeEventListener?: unknown }
  g.addEventListener = target.addEventListener.bind(target)
  g.removeEventListener = target.removeEventListener.bind(target)
  t.teardown(() => {
    delete g.addEventListener
    delete g.removeEventListener
  })
  const node = await startNode()
  t.teardown(() => node.close())
  const client = createClient({ url: node.url, getToken: () => token('alice'), reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } })
  t.teardown(() => client.close())
  client.connect()
  await nextState(client, 'connected')
  const lost = nextState(client, 'reconnecting')
  node.terminateConnections()
  t.equal((await lost).delayMs, 60_000, 'a minute of backoff ahead')
  const retried = nextState(client, 'connecting')
  target.dispatchEvent(new Event('online'))
  t.equal((await retried).reason, 'online')
  await nextState(client, 'connected')
})

t.test('client › connect() during backoff retries at once; close() during connecting ends cleanly', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const client = createClient({ url: node.url, getToken: () => token('alice'), reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } })
  client.connect()
  await nextState(client, 'connected')
  const lost = nextState(client, 'reconnecting')
  node.terminateConnections()
  await lost
  const retried = nextState(client, 'connecting')
  client.connect()
  t.equal((await retried).reason, 'connect')
  await client.close()
  t.equal(client.state, 'closed')
  t.type(client, SwitchboardClient)
})

t.test('client › a connect that never gets `connected` times out and is retried', async t => {
  // A TCP server that accepts and never answers the WebSocket handshake.
  const { createServer } = await import('node:net')
  const sockets = new Set<import('node:net').Socket>()
  const silent = createServer(socket => sockets.add(socket))
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const port = (silent.address() as { port: number }).port
  const client = createClient({ url: `ws://127.0.0.1:${port}/ws`, getToken: () => 'x', connectTimeoutMs: 100, reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } })
  t.teardown(() => client.close())
  client.connect()
  const change = await nextState(client, 'reconnecting')
  t.equal(change.reason, 'connect-timeout')
})
