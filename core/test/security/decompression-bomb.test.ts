import t from 'tap'
import { constants, createDeflateRaw } from 'node:zlib'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import { heapAfterGc, mib, sampleMemory, until } from './fixtures/memory.js'
import { encodeFrame, OPCODE, RawWebSocket } from './fixtures/raw-websocket.js'

/**
 * Decompression bombs with permessage-deflate enabled (`perMessageDeflate: true`): a raw client
 * negotiates the extension and sends small compressed messages (built by streaming through
 * zlib, never holding the inflated text) that inflate far past `maxPayloadBytes`. The node must
 * close with 1009 having inflated no more than about `maxPayloadBytes`, and keep serving others.
 */

const MAX = 65_536

/**
 * A permessage-deflate payload (RFC 7692: raw deflate, sync-flushed, the trailing
 * 00 00 ff ff removed) whose text is `head` followed by `spaces` spaces.
 */
async function deflated(head: string, spaces: number): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 9 })
  const out: Buffer[] = []
  deflate.on('data', (chunk: Buffer) => out.push(chunk))
  const block = Buffer.alloc(1024 * 1024, 0x20)
  deflate.write(head)
  for (let left = spaces; left > 0; left -= block.length) {
    if (!deflate.write(left >= block.length ? block : block.subarray(0, left))) await new Promise(resolve => deflate.once('drain', resolve))
  }
  await new Promise<void>(resolve => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()))
  deflate.close()
  const payload = Buffer.concat(out)
  if (!payload.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))) throw new Error('no sync flush marker')
  return payload.subarray(0, -4)
}

/** A raw connection that negotiated permessage-deflate and authenticated. */
async function compressedClient(server: TestServer, user: string): Promise<RawWebSocket> {
  const raw = await RawWebSocket.open(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits; server_no_context_takeover' } })
  if (raw.status !== 101 || !/sec-websocket-extensions: permessage-deflate/i.test(raw.responseHead)) throw new Error(`no permessage-deflate: ${raw.responseHead}`)
  await raw.sendMessage(JSON.stringify({ type: 'connect', id: 1, token: await server.token(user) }))
  await raw.nextJson(f => f.type === 'connected')
  return raw
}

const compressedMessage = (payload: Buffer): Buffer => encodeFrame({ opcode: OPCODE.text, payload, rsv1: true })
const PING = '{"type":"ping","id":7}'

t.test('decompression › a compressed message inflating to exactly maxPayloadBytes is served; one byte more closes with 1009', async t => {
  const server = await startTestServer({ perMessageDeflate: true, maxPayloadBytes: MAX })
  t.teardown(() => server.close())
  const ok = await compressedClient(server, 'alice')
  t.teardown(() => ok.destroy())
  const pong = ok.nextJson(f => f.type === 'pong' && f.id === 7)
  await ok.write(compressedMessage(await deflated(PING, MAX - PING.length)))
  t.match(await pong, { type: 'pong', id: 7 }, `${MAX} bytes inflated are served`)
  const over = await compressedClient(server, 'bob')
  t.teardown(() => over.destroy())
  await over.write(compressedMessage(await deflated(PING, MAX - PING.length + 1)))
  const close = await over.waitClosed()
  t.equal(close.code, 1009, `${MAX + 1} bytes inflated close with 1009`)
})

t.test('decompression › bombs (60 KB inflating to 64 MiB, five connections at once) close with 1009, memory bounded, others served', async t => {
  const server = await startTestServer({ perMessageDeflate: true, maxPayloadBytes: MAX })
  t.teardown(() => server.close())
  const INFLATED = 64 * 1024 * 1024
  const bomb = compressedMessage(await deflated(PING, INFLATED - PING.length))
  t.ok(bomb.length <= MAX, `the bomb is ${bomb.length} bytes on the wire (ratio ${(INFLATED / bomb.length).toFixed(0)}:1), under maxPayloadBytes`)
  const attackers = await Promise.all(['m1', 'm2', 'm3', 'm4', 'm5'].map(user => compressedClient(server, user)))
  t.teardown(() => attackers.forEach(a => a.destroy()))
  const bystander = await server.connect('carol')
  t.teardown(() => bystander.close())

  const before = heapAfterGc()
  const buffersBefore = process.memoryUsage().arrayBuffers
  const sampler = sampleMemory(2)
  const started = performance.now()
  await Promise.all(attackers.map(a => a.write(bomb)))
  const pong = await bystander.request({ type: 'ping' })
  const closes = await Promise.all(attackers.map(a => a.waitClosed()))
  const elapsed = performance.now() - started
  const peak = sampler.stop()
  const peakGrowth = peak.heapUsed - before + (peak.arrayBuffers - buffersBefore)

  t.match(pong, { type: 'pong' }, 'a bystander is answered during the bombs')
  t.same(closes.map(c => c.code), [1009, 1009, 1009, 1009, 1009], `all closed with 1009 (close frames within ${Math.max(...closes.map(c => c.closeFrameAfterMs ?? 0))} ms of opening; ${elapsed.toFixed(0)} ms from sending)`)
  // Five inflations stop at 64 KiB each; 64 MiB each would be 320 MiB.
  t.ok(peakGrowth < 16 * 1024 * 1024, `node memory peak +${mib(Math.max(0, peakGrowth))} for ${mib(5 * INFLATED)} of would-be inflated text`)
  await until(() => server.switchboard.connectionCount === 1, 'the attackers are released')
  const after = heapAfterGc()
  t.ok(after - before < 4 * 1024 * 1024, `heap after GC ${mib(after - before)} over before`)
  t.match(await bystander.request({ type: 'ping' }), { type: 'pong' })
})
