import t from 'tap'
import { startTestServer } from '../../src/testing/test-server.js'
import { PreparedFrame } from '../../src/protocol/prepared-frame.js'
import type { Connection } from '../../src/transport/connection.js'

/** The server's TCP socket under a connection, with each write recorded as corked or not. */
function recordWrites(connection: Connection): boolean[] {
  const raw = (connection.socket as unknown as { _socket: { write(data: Buffer): boolean; writableCorked: number } })._socket
  const corked: boolean[] = []
  const write = raw.write.bind(raw)
  raw.write = (data: Buffer) => {
    corked.push(raw.writableCorked > 0)
    return write(data)
  }
  return corked
}

const join = (user: string): PreparedFrame => PreparedFrame.fromJson(JSON.stringify({ type: 'join', channel: 'room:x', user }))
const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('coalesced writes › a lone frame leaves at once; the rest of a turn, and a burst that goes on, leave corked', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  const [connection] = [...server.switchboard.sessions()] as Connection[]
  const corked = recordWrites(connection!)
  const turns: string[][] = [['a'], ['b', 'c', 'd'], ['e'], ['f'], ['g']]
  const seen: boolean[][] = []
  for (const turn of turns) {
    const before = corked.length
    for (const user of turn) t.ok(connection!.sendPrepared(join(user)))
    await nextTurn()
    seen.push(corked.slice(before))
    t.equal((connection!.socket as unknown as { _socket: { writableCorked: number } })._socket.writableCorked, 0, 'uncorked at the end of the turn')
  }
  t.same(seen, [
    [false], // a lone frame: at once
    [false, true, true], // the first at once, the rest of the turn corked
    [true], // the turn after several frames corks from its first
    [false], // the turn after a single frame does not
    [false],
  ])
  await client.next(f => f.type === 'join' && f.user === 'g', 'the last join', true)
  const users = client.frames.filter(f => f.type === 'join').map(f => f.user)
  t.same(users, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'every frame arrives, in order')
  await client.close()
})
