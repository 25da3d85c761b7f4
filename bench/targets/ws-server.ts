/**
 * The floor: a minimal broadcast server on bare `ws`. Child process entry (see target.ts).
 *
 * Text protocol (one WebSocket text frame each):
 * - `j:<room>` joins a room; answered `J`.
 * - `p:<room>:<body>` broadcasts `<body>` to every member of the room.
 * - `a:<id>:<room>:<body>` broadcasts and answers the sender `a<id>` (publish round trip).
 *
 * A broadcast frames the body once (`Sender.frame`, one buffer) and writes the same bytes to
 * every member's TCP socket: no per-member encoding, framing or copying. No authentication,
 * no backpressure handling: this is the cost floor, not a product.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import * as wsModule from 'ws'
import { WebSocketServer, type WebSocket } from 'ws'
import { writeHeapSnapshot } from 'node:v8'
import { memoryAfterGc, serveCommands } from '../lib/child.js'

type FrameFn = (data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }) => Buffer[]
const frame = (wsModule as unknown as { Sender: { frame: FrameFn } }).Sender.frame
const FRAME_OPTIONS = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }

const COLON = 0x3a
const J_REPLY = Buffer.from('J')

/** The raw TCP socket under a ws connection (ws keeps it in `_socket`). */
function rawSocket(ws: WebSocket): Duplex {
  return (ws as unknown as { _socket: Duplex })._socket
}

const rooms = new Map<string, Set<WebSocket>>()
let connections = 0

function broadcast(room: string, body: Buffer): void {
  const members = rooms.get(room)
  if (!members) return
  const parts = frame(body, FRAME_OPTIONS)
  const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  for (const member of members) rawSocket(member).write(bytes)
}

const server = createServer((_req, res) => res.writeHead(404).end())
server.on('error', () => {})
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 65_536 })
wss.on('connection', ws => {
  connections += 1
  const joined: string[] = []
  ws.on('error', () => {})
  ws.on('close', () => {
    connections -= 1
    for (const room of joined) {
      const members = rooms.get(room)
      members?.delete(ws)
      if (members?.size === 0) rooms.delete(room)
    }
  })
  ws.on('message', (data: Buffer) => {
    const op = data[0]
    if (op === 0x70 /* p */) {
      const end = data.indexOf(COLON, 2)
      broadcast(data.toString('latin1', 2, end), data.subarray(end + 1))
    } else if (op === 0x61 /* a */) {
      const idEnd = data.indexOf(COLON, 2)
      const roomEnd = data.indexOf(COLON, idEnd + 1)
      broadcast(data.toString('latin1', idEnd + 1, roomEnd), data.subarray(roomEnd + 1))
      ws.send('a' + data.toString('latin1', 2, idEnd))
    } else if (op === 0x6a /* j */) {
      const room = data.toString('latin1', 2)
      let members = rooms.get(room)
      if (!members) rooms.set(room, (members = new Set()))
      members.add(ws)
      joined.push(room)
      ws.send(J_REPLY)
    }
  })
})

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  serveCommands(
    { port, url: `ws://127.0.0.1:${port}/` },
    {
      mem: () => memoryAfterGc(),
      heapSnapshot: (args: { path: string }) => writeHeapSnapshot(args.path),
      connections: () => connections,
    },
    () => new Promise<void>(resolve => server.close(() => resolve())),
  )
})
