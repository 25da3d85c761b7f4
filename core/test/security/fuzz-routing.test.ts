import t from 'tap'
import fc from 'fast-check'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import { TestClient, type AnyFrame } from '../../src/testing/test-client.js'
import { allChannels } from '../channels/fixtures/test-channels.js'
import { PROTOCOL_CLOSE_CODES, preview, serverFrameProblem } from './fixtures/contract.js'
import { fuzzInputArb, isUtf8, type CodecName, type FuzzInput } from './fixtures/frame-arbitraries.js'
import { heapAfterGc, mib } from './fixtures/memory.js'

/**
 * Property-based fuzzing of frame routing over the wire: generated frames (random bytes,
 * arbitrary JSON values, near-valid frames) go in batches through authenticated connections of
 * a real node serving the test channels (rooms, DMs, inboxes, a rule-less channel), and as the
 * first frame of fresh connections. Every frame the server sends back must be a valid frame of
 * the contract, no frame may be answered `INTERNAL`, the connection must still answer `ping`,
 * any close must carry a protocol code, and the node's heap must stay bounded.
 */

const SEED = 0x5eed_0019
const BATCH = 200
const BATCHES_PER_CODEC = 50
const FIRST_FRAME_RUNS_PER_CODEC = 300
/** Heap growth allowed between warm-up and the end, after GC: stored messages and subscriptions included. */
const HEAP_BOUND = 24 * 1024 * 1024
/** Ids of barrier requests: far above the ids the generators favour. */
let barrierId = 8_000_000_000_000_000

interface Tally {
  sent: number
  replies: number
  byType: Map<string, number>
  errors: Map<string, number>
  closes: number[]
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

function summary(map: Map<string, number>): string {
  return [...map].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')
}

/** Records and checks frames received since `from`; throws on the first one outside the contract. */
function audit(frames: readonly AnyFrame[], from: number, tally: Tally): void {
  for (const frame of frames.slice(from)) {
    const problem = serverFrameProblem(frame)
    if (problem) throw new Error(`the server sent a frame outside the contract: ${problem}`)
    count(tally.byType, frame.type)
    if (frame.type === 'error') {
      count(tally.errors, String(frame.code))
      if (frame.code === 'INTERNAL') throw new Error(`a fuzzed frame was answered INTERNAL: ${preview(frame)}`)
    }
    tally.replies++
  }
}

/** Sends one generated message as is, except text that is not UTF-8 (ws closes with 1007; tested on its own below). */
function sendInput(client: TestClient, input: FuzzInput): void {
  if (!input.isBinary && !isUtf8(input.raw)) client.sendRaw(input.raw.toString('utf8'), false)
  else client.sendRaw(input.raw, input.isBinary)
}

/** A request with an id the generated frames practically never use, raced against the close. */
async function barrier(client: TestClient, frame: Record<string, unknown>): Promise<{ reply: AnyFrame } | { closed: number }> {
  const id = ++barrierId
  const reply = client.next(f => f.id === id && f.type !== 'error', `reply to barrier ${String(frame.type)} #${id}`)
  client.send({ ...frame, id })
  return Promise.race([reply.then(f => ({ reply: f })), client.closed.then(close => ({ closed: close.code }))])
}

async function startFuzzServer(): Promise<TestServer> {
  return startTestServer({
    channels: allChannels,
    // Rate limits and handshake limits have their own tests; here they would only end the runs early.
    publishRatePerSecond: 1_000_000,
    publishBurst: 1_000_000,
    handshakeRatePerSecond: 0,
    ackTimeoutMs: 600_000,
    heartbeatMs: 60_000,
  })
}

for (const codecName of ['json', 'msgpack'] as const satisfies readonly CodecName[]) {
  t.test(`FrameRouter › fuzz ${codecName} over the wire (fast-check seed ${SEED}, ${BATCHES_PER_CODEC} batches of ${BATCH}) › only contract frames, no INTERNAL, still answers ping, heap bounded`, async t => {
    const server = await startFuzzServer()
    t.teardown(() => server.close())
    const users = ['alice', 'bob', 'carol']
    const clients = await Promise.all(users.map(user => server.connect(user, { protocol: codecName })))
    t.teardown(() => Promise.all(clients.map(c => c.close())))
    const audited = clients.map(() => 0)
    const tally: Tally = { sent: 0, replies: 0, byType: new Map(), errors: new Map(), closes: [] }
    let batches = 0
    let warmHeap = 0
    const started = performance.now()

    await fc.assert(
      fc.asyncProperty(fc.array(fuzzInputArb(codecName), { minLength: BATCH, maxLength: BATCH }), async batch => {
        const index = batches++ % clients.length
        const client = clients[index]!
        for (const input of batch) sendInput(client, input)
        tally.sent += batch.length
        // Frames of one connection are handled in order, so this reply comes after every reply to the batch.
        const done = await barrier(client, { type: 'history', channel: 'room:fuzz', limit: 1 })
        if ('closed' in done) {
          tally.closes.push(done.closed)
          if (!(PROTOCOL_CLOSE_CODES as readonly number[]).includes(done.closed)) throw new Error(`closed with ${done.closed}, not a protocol code`)
          audit(client.frames, audited[index]!, tally)
          clients[index] = await server.connect(users[index]!, { protocol: codecName })
          audited[index] = 0
          return
        }
        const pong = await barrier(client, { type: 'ping' })
        if (!('reply' in pong) || pong.reply.type !== 'pong') throw new Error(`no pong after the batch: ${preview(pong)}`)
        audit(client.frames, audited[index]!, tally)
        audited[index] = client.frames.length
        if (batches === clients.length) warmHeap = heapAfterGc()
      }),
      { seed: SEED, numRuns: BATCHES_PER_CODEC, endOnFailure: true },
    )
    const elapsed = performance.now() - started
    clients.forEach((client, i) => audit(client.frames, audited[i]!, tally))
    const growth = heapAfterGc() - warmHeap

    t.equal(tally.sent, BATCH * BATCHES_PER_CODEC, `${tally.sent} frames routed in ${(elapsed / 1000).toFixed(1)} s over ${clients.length} connections`)
    t.pass(`${tally.replies} frames back: ${summary(tally.byType)}; errors: ${summary(tally.errors)}`)
    t.same(tally.closes, [], 'no connection was closed')
    t.equal(server.switchboard.connectionCount, clients.length, 'every connection still open')
    t.ok(growth < HEAP_BOUND, `heap after GC grew ${mib(growth)} after warm-up (bound ${mib(HEAP_BOUND)}; ${tally.byType.get('published') ?? 0} messages were stored)`)
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted')
  })

  t.test(`FrameRouter › fuzz ${codecName} first frames (fast-check seed ${SEED}, ${FIRST_FRAME_RUNS_PER_CODEC} connections) › refused with BAD_FRAME (stays open) or UNAUTHORIZED and 4001; the node keeps serving`, async t => {
    const server = await startFuzzServer()
    t.teardown(() => server.close())
    const outcomes = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(fuzzInputArb(codecName), async input => {
        const client = await TestClient.open(server.url, { protocol: codecName })
        try {
          sendInput(client, input)
          const outcome = await Promise.race([
            client.next(() => true, 'a reply to the first frame').then(f => ({ reply: f })),
            client.closed.then(close => ({ closed: close.code })),
          ])
          if (!('reply' in outcome)) throw new Error(`closed with ${outcome.closed} without a reply`)
          const first = outcome.reply
          const problem = serverFrameProblem(first)
          if (problem) throw new Error(problem)
          if (first.type !== 'error' || (first.code !== 'BAD_FRAME' && first.code !== 'UNAUTHORIZED')) {
            throw new Error(`a first frame was answered ${preview(first)}`)
          }
          if (first.code === 'UNAUTHORIZED') {
            const close = await client.waitClosed()
            if (close.code !== 4001) throw new Error(`UNAUTHORIZED then close ${close.code}`)
            count(outcomes, 'UNAUTHORIZED + 4001')
            return
          }
          // Garbage first: the connection stays open until authTimeoutMs, and may still connect.
          const connected = await barrier(client, { type: 'connect', token: await server.token('alice') })
          if (!('reply' in connected) || connected.reply.type !== 'connected') throw new Error(`could not connect after garbage: ${preview(connected)}`)
          const pong = await barrier(client, { type: 'ping' })
          if (!('reply' in pong) || pong.reply.type !== 'pong') throw new Error('no pong')
          count(outcomes, 'BAD_FRAME, then connected')
        } finally {
          await client.close()
        }
      }),
      { seed: SEED, numRuns: FIRST_FRAME_RUNS_PER_CODEC, endOnFailure: true },
    )
    t.pass(`${FIRST_FRAME_RUNS_PER_CODEC} first frames: ${summary(outcomes)}`)
    const witness = await server.connect('witness', { protocol: codecName })
    t.match(await witness.request({ type: 'ping' }), { type: 'pong' }, 'the node still serves new clients')
    await witness.close()
  })
}

t.test('FrameRouter › a text frame that is not UTF-8 closes with 1007 (RFC 6455), other connections unaffected', async t => {
  const server = await startFuzzServer()
  t.teardown(() => server.close())
  const bystander = await server.connect('bob')
  const victim = await server.connect('alice')
  victim.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), false)
  t.match(await victim.waitClosed(), { code: 1007 })
  t.match(await bystander.request({ type: 'ping' }), { type: 'pong' })
  await bystander.close()
})
