/**
 * The peer: a Socket.IO 4.8 server, WebSocket transport only, rooms and `io.to(room).emit`.
 * Child process entry (see target.ts).
 *
 * Events: `join(room, ack)` joins a room; `pub(room, data, ack?)` broadcasts `msg` with `data`
 * to the room (`io.to(room).emit`) and calls the ack when given (publish round trip).
 * Connections authenticate in a middleware with the same HS256 JWTs as Switchboard (jose,
 * the library Switchboard uses), from `handshake.auth.token`.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { jwtVerify } from 'jose'
import { Server } from 'socket.io'
import { writeHeapSnapshot } from 'node:v8'
import { memoryAfterGc, serveCommands } from '../lib/child.js'
import { BENCH_JWT_SECRET } from './target-config.js'

const key = new TextEncoder().encode(BENCH_JWT_SECRET)
const server = createServer()
server.on('error', () => {})
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 65_536 })

io.use((socket, next) => {
  const token = (socket.handshake.auth as { token?: unknown }).token
  if (typeof token !== 'string') return next(new Error('unauthorized'))
  jwtVerify(token, key, { algorithms: ['HS256'] }).then(
    ({ payload }) => {
      socket.data.user = payload.sub
      next()
    },
    () => next(new Error('unauthorized')),
  )
})

io.on('connection', socket => {
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room)
    if (typeof ack === 'function') ack()
  })
  socket.on('pub', (room: string, data: unknown, ack?: () => void) => {
    io.to(room).emit('msg', data)
    if (typeof ack === 'function') ack()
  })
})

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  serveCommands(
    { port, url: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket` },
    {
      mem: () => memoryAfterGc(),
      heapSnapshot: (args: { path: string }) => writeHeapSnapshot(args.path),
      connections: () => io.engine.clientsCount,
    },
    () => new Promise<void>(resolve => void io.close(() => resolve())),
  )
})
