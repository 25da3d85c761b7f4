import t from 'tap'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import { heapAfterGc, mib, sampleMemory, until } from './fixtures/memory.js'
import { encodeFrame, OPCODE, RawWebSocket } from './fixtures/raw-websocket.js'

/**
 * Floods of tiny fragments from a raw TCP client (frames built by hand after a manual upgrade):
 * one message split into thousands of 1-byte or empty continuation frames. The node must either
 * reassemble and serve it, or close the connection with a protocol code, with bounded memory,
 * while other clients keep being served.
 */

/** Fragments `payload` into frames of `size` bytes (the first a text frame, the rest continuations). */
function fragmented(payload: Buffer, size: number, finish = true): Buffer[] {
  const frames: Buffer[] = []
  for (let at = 0; at < payload.length; at += size) {
    const last = at + size >= payload.length
    frames.push(encodeFrame({ opcode: at === 0 ? OPCODE.text : OPCODE.continuation, payload: payload.subarray(at, at + size), fin: finish && last }))
  }
  return frames
}

/** Opens a raw connection and authenticates it with an ordinary `connect` message. */
async function rawConnected(server: TestServer, user: string): Promise<RawWebSocket> {
  const raw = await RawWebSocket.open(server.port)
  if (raw.status !== 101) throw new Error(`upgrade refused: ${raw.responseHead}`)
  await raw.sendMessage(JSON.stringify({ type: 'connect', id: 1, token: await server.token(user) }))
  await raw.nextJson(f => f.type === 'connected')
  return raw
}

/**
 * Writes `frames` in chunks until all are written or the server closes; meanwhile a bystander
 * pings. Resolves with how many frames went out, the close, the slowest bystander round trip and
 * the node's heap peak over its heap before.
 */
async function flood(server: TestServer, raw: RawWebSocket, frames: Buffer[], chunk = 1000) {
  const bystander = await server.connect('bystander')
  const before = heapAfterGc()
  const buffersBefore = process.memoryUsage().arrayBuffers
  const sampler = sampleMemory()
  let written = 0
  let slowestPing = 0
  const started = performance.now()
  let ended = false
  void raw.closed.then(() => (ended = true))
  for (let i = 0; i < frames.length && !ended; i += chunk) {
    await raw.write(Buffer.concat(frames.slice(i, i + chunk)))
    written = Math.min(frames.length, i + chunk)
    if ((i / chunk) % 10 === 0) {
      const sent = performance.now()
      const pong = await bystander.request({ type: 'ping' })
      if (pong.type !== 'pong') throw new Error('the bystander got no pong')
      slowestPing = Math.max(slowestPing, performance.now() - sent)
    }
  }
  const elapsed = performance.now() - started
  const peak = sampler.stop()
  await bystander.request({ type: 'ping' })
  await bystander.close()
  // Heap and Buffer memory both count: ws keeps fragments as Buffers outside the JS heap.
  return { written, elapsed, slowestPing, peakGrowth: peak.heapUsed - before + (peak.arrayBuffers - buffersBefore), heapBefore: before }
}

t.test('fragments › one message as 10,000 one-byte fragments is reassembled and answered', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const raw = await rawConnected(server, 'alice')
  t.teardown(() => raw.destroy())
  const message = `{"type":"ping","id":42}`
  const payload = Buffer.from(message + ' '.repeat(10_000 - message.length))
  const frames = fragmented(payload, 1)
  t.equal(frames.length, 10_000)
  const pong = raw.nextJson(f => f.type === 'pong' && f.id === 42)
  const result = await flood(server, raw, frames)
  t.match(await pong, { type: 'pong', id: 42 }, `answered after ${result.elapsed.toFixed(0)} ms (${frames.length} frames, ${mib(frames.reduce((n, f) => n + f.length, 0))} on the wire)`)
  t.ok(result.slowestPing < 2_000, `other clients served meanwhile (slowest ping ${result.slowestPing.toFixed(0)} ms)`)
})

for (const [name, size, count] of [
  ['100,000 one-byte fragments of a message that never ends', 1, 100_000],
  ['100,000 empty fragments (which never grow the message)', 0, 100_000],
] as const) {
  t.test(`fragments › ${name} › closed with a protocol code, memory bounded, others served`, async t => {
    const server = await startTestServer()
    t.teardown(() => server.close())
    const raw = await rawConnected(server, 'mallory')
    t.teardown(() => raw.destroy())
    const first = encodeFrame({ opcode: OPCODE.text, payload: Buffer.from('{'), fin: false })
    const next = size === 0 ? encodeFrame({ opcode: OPCODE.continuation, fin: false }) : encodeFrame({ opcode: OPCODE.continuation, payload: Buffer.from(' '), fin: false })
    const frames = [first, ...Array.from({ length: count - 1 }, () => next)]
    const result = await flood(server, raw, frames)
    const close = await raw.waitClosed()
    // ws's default maxFragments (16,384) answers 1008 (policy violation); maxPayloadBytes would answer 1009.
    t.ok([1008, 1009].includes(close.code), `closed with ${close.code} after ${result.written} fragments were written (close frame at ${close.closeFrameAfterMs} ms)`)
    t.ok(result.written < count, 'the node did not wait for the whole flood')
    t.ok(result.peakGrowth < 32 * 1024 * 1024, `node memory peak +${mib(Math.max(0, result.peakGrowth))} during the flood`)
    await until(() => server.switchboard.connectionCount === 0, 'the flooder is released')
    const after = heapAfterGc()
    t.ok(after - result.heapBefore < 4 * 1024 * 1024, `heap after GC ${mib(after - result.heapBefore)} over before the flood`)
    t.ok(result.slowestPing < 2_000, `other clients served meanwhile (slowest ping ${result.slowestPing.toFixed(0)} ms)`)
  })
}

t.test('fragments › an unauthenticated socket flooding fragments is closed too (and by authTimeoutMs at the latest)', async t => {
  const server = await startTestServer({ authTimeoutMs: 300 })
  t.teardown(() => server.close())
  const raw = await RawWebSocket.open(server.port)
  t.teardown(() => raw.destroy())
  // A handful of fragments per 10 ms: too few for any size limit; only the auth deadline ends it.
  const frame = encodeFrame({ opcode: OPCODE.continuation, payload: Buffer.from(' '), fin: false })
  await raw.write(encodeFrame({ opcode: OPCODE.text, payload: Buffer.from('{'), fin: false }))
  const timer = setInterval(() => void raw.write(Buffer.concat([frame, frame, frame])), 10)
  t.teardown(() => clearInterval(timer))
  const close = await raw.waitClosed()
  clearInterval(timer)
  t.equal(close.code, 4009, `close frame 4009 at ${close.closeFrameAfterMs} ms; TCP released at ${close.afterMs} ms (closeTimeoutMs after, as the flooder never answers the close)`)
  t.ok((close.closeFrameAfterMs ?? Infinity) < 300 + 1_000, 'close frame near authTimeoutMs')
})
