import t from 'tap'
import fc from 'fast-check'
import { decode as msgpackDecode } from '@msgpack/msgpack'
import { SwitchboardError, toWireError } from '../../src/errors.js'
import type { Codec } from '../../src/protocol/codec.js'
import { MAX_NESTING_DEPTH, decodeClientFrame } from '../../src/protocol/decode-frame.js'
import { clientFrameSchema } from '../../src/protocol/frames.js'
import { jsonCodec } from '../../src/protocol/json-codec.js'
import { msgpackCodec } from '../../src/protocol/msgpack-codec.js'
import { preview, serverFrameProblem } from './fixtures/contract.js'
import { encodeCase, fuzzCaseArb, type CodecName, type FuzzInput } from './fixtures/frame-arbitraries.js'
import { heapAfterGc, mib } from './fixtures/memory.js'

/**
 * Property-based fuzzing of frame decoding, by direct calls to `decodeClientFrame` (the bulk of
 * the suite's 100,000+ generated frames; routing over the wire is fuzz-routing.test.ts).
 * A failure prints fast-check's seed, path and shrunk counterexample; rerun with the same seed.
 */

const SEED = 0x5eed_0009
/** Each run decodes one generated case twice: as a JSON client and as a MessagePack client would send it. */
const RUNS = 42_000
const WARMUP_RUNS = 2_000
/** Heap growth allowed between the end of warm-up and the end (after GC). */
const HEAP_BOUND = 8 * 1024 * 1024
/** Largest `error` reply allowed for any input: replies must not amplify what a client sends. */
const REPLY_BOUND = 4096

const codecs: Record<CodecName, Codec> = { json: jsonCodec, msgpack: msgpackCodec }
const FIELDS: Record<string, readonly string[]> = {
  connect: ['type', 'id', 'token', 'client'],
  subscribe: ['type', 'id', 'channel', 'since'],
  unsubscribe: ['type', 'id', 'channel'],
  publish: ['type', 'id', 'channel', 'data', 'key'],
  ack: ['type', 'channel', 'seq'],
  history: ['type', 'id', 'channel', 'before', 'limit'],
  presence: ['type', 'id', 'channel'],
  refresh: ['type', 'id', 'token'],
  ping: ['type', 'id'],
}

/**
 * Why `value` is not plain, safe JSON (or undefined when it is): prototype-polluting keys,
 * nesting past the limit, non-plain objects, non-finite numbers (allowed under `data` on JSON,
 * where `1e400` parses as Infinity, as documented on decodeClientFrame).
 */
function unsafe(value: unknown, depth: number, allowInfinity: boolean, generated = false): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) || (allowInfinity && !Number.isNaN(value)) ? undefined : 'non-finite number'
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return undefined
  if (typeof value !== 'object') return `a ${typeof value}`
  if (depth > MAX_NESTING_DEPTH) return 'nested too deep'
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = unsafe(item, depth + 1, allowInfinity, generated)
      if (problem) return problem
    }
    return undefined
  }
  // fast-check builds some records without a prototype; they encode like plain objects.
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && !(generated && prototype === null)) return 'not a plain object'
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key]
    if (key === '__proto__') return 'own __proto__ key'
    if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) return 'constructor.prototype'
    const problem = unsafe(child, depth + 1, allowInfinity, generated)
    if (problem) return problem
  }
  return undefined
}

/**
 * Whether the MessagePack decoder refuses a generated value as a whole, before any `id` can be
 * read: an own `__proto__` key anywhere, or an extension type (a Date encodes as timestamp -1).
 */
function msgpackDecoderRefuses(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (value instanceof Date) return true
  if (Array.isArray(value)) return value.some(msgpackDecoderRefuses)
  return Object.keys(value).some(key => key === '__proto__' || msgpackDecoderRefuses((value as Record<string, unknown>)[key]))
}

/** A positive safe integer `id` the decoder must echo even when the frame is refused. */
function readableId(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, 'id')) return undefined
  const id = (value as { id: unknown }).id
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined
}

interface Tally {
  decoded: number
  accepted: number
  refused: number
  byKind: Map<string, number>
  maxReplyBytes: number
  /** Error reply shapes already validated (code, message and detail paths): the same shape encodes the same way. */
  replyShapes: Set<string>
}

/** Checks one input; throws (failing the property) with the reason when an invariant breaks. */
function check(codecName: CodecName, input: FuzzInput, tally: Tally): void {
  const codec = codecs[codecName]
  tally.decoded++
  const kind = `${codecName} ${input.kind}`
  tally.byKind.set(kind, (tally.byKind.get(kind) ?? 0) + 1)
  let result: ReturnType<typeof decodeClientFrame>
  try {
    result = decodeClientFrame(codec, input.raw, input.isBinary)
  } catch (error) {
    throw new Error(`decodeClientFrame threw ${String(error)}`)
  }
  const hex = (): string => input.raw.toString('hex').slice(0, 400)
  if (result.ok) {
    tally.accepted++
    const frame = result.frame as unknown as Record<string, unknown>
    if (!clientFrameSchema.safeParse(frame).success) throw new Error(`accepted a frame the schema refuses: ${preview(frame)}`)
    const extra = Object.keys(frame).filter(key => !FIELDS[frame.type as string]!.includes(key))
    if (extra.length > 0) throw new Error(`unknown fields were not stripped: ${extra.join(', ')}`)
    for (const key of Object.keys(frame)) {
      const problem = unsafe(frame[key], 2, codecName === 'json' && key === 'data')
      if (problem) throw new Error(`accepted an unsafe frame (${problem} in ${key}): ${hex()}`)
    }
    if (input.value !== undefined && FIELDS[frame.type as string]!.includes('id') && readableId(input.value) !== undefined && frame.id !== readableId(input.value)) {
      throw new Error(`the accepted frame's id changed: ${preview(frame)}`)
    }
    return
  }
  tally.refused++
  if (!(result.error instanceof SwitchboardError) || result.error.code !== 'BAD_FRAME') {
    throw new Error(`refused with something else than BAD_FRAME: ${String(result.error)}`)
  }
  if (result.id !== undefined && !(Number.isSafeInteger(result.id) && result.id > 0)) throw new Error(`answered with id ${String(result.id)}`)
  if (input.kind === 'valid' && unsafe(input.value, 1, false, true) === undefined) {
    throw new Error(`refused a valid frame (${preview(result.error.details)}): ${preview(input.value)}`)
  }
  // The id must come back whenever the frame was an object with a readable id (docs/protocol.md),
  // except when the MessagePack decoder refuses the frame whole (`__proto__` keys, extension types).
  const expectedId = input.value === undefined ? undefined : readableId(input.value)
  const decoderRefuses = codecName === 'msgpack' && msgpackDecoderRefuses(input.value)
  if (expectedId !== undefined && !decoderRefuses && result.id !== expectedId) {
    throw new Error(`lost the id ${expectedId} of a refused frame (got ${String(result.id)}): ${preview(input.value)}`)
  }
  // The reply must encode and read back as a valid `error` frame of the contract, and stay small.
  const wire = toWireError(result.error)
  const shape = `${codecName}|${result.id === undefined}|${wire.code}|${wire.message}|${(wire.details ?? []).map(d => `${d.path}:${d.message}`).join('|')}`
  if (tally.replyShapes.has(shape)) return
  tally.replyShapes.add(shape)
  const reply = codec.encode(result.id === undefined ? { type: 'error', ...wire } : { type: 'error', id: result.id, ...wire })
  const bytes = typeof reply === 'string' ? Buffer.byteLength(reply) : reply.byteLength
  tally.maxReplyBytes = Math.max(tally.maxReplyBytes, bytes)
  if (bytes > REPLY_BOUND) throw new Error(`a ${bytes}-byte reply to a ${input.raw.length}-byte frame`)
  const readBack = typeof reply === 'string' ? (JSON.parse(reply) as unknown) : msgpackDecode(reply)
  const problem = serverFrameProblem(readBack)
  if (problem) throw new Error(`the error reply is not a valid server frame: ${problem}`)
}

t.test(`decodeClientFrame › fuzz json and msgpack (fast-check seed ${SEED}, ${RUNS} cases × 2 codecs) › never throws, accepts only safe valid frames, refuses with BAD_FRAME and a small valid reply, memory bounded`, async t => {
  const tally: Tally = { decoded: 0, accepted: 0, refused: 0, byKind: new Map(), maxReplyBytes: 0, replyShapes: new Set() }
  let runs = 0
  let warmHeap = 0
  const started = performance.now()
  fc.assert(
    fc.property(fuzzCaseArb, fuzzCase => {
      check('json', encodeCase(fuzzCase, 'json'), tally)
      check('msgpack', encodeCase(fuzzCase, 'msgpack'), tally)
      if (++runs === WARMUP_RUNS) warmHeap = heapAfterGc()
    }),
    { seed: SEED, numRuns: RUNS },
  )
  const elapsed = performance.now() - started
  const growth = heapAfterGc() - warmHeap
  const kinds = [...tally.byKind].sort().map(([k, n]) => `${k} ${n}`).join(', ')
  t.equal(tally.decoded, 2 * RUNS, `${tally.decoded} frames decoded in ${(elapsed / 1000).toFixed(1)} s (${kinds})`)
  t.ok(tally.accepted > RUNS / 10, `${tally.accepted} accepted, ${tally.refused} refused with BAD_FRAME (${tally.replyShapes.size} distinct error replies, each checked against the contract)`)
  t.ok(tally.maxReplyBytes <= REPLY_BOUND, `largest error reply ${tally.maxReplyBytes} bytes (bound ${REPLY_BOUND})`)
  t.ok(growth < HEAP_BOUND, `heap after GC grew ${mib(growth)} after warm-up (bound ${mib(HEAP_BOUND)})`)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted')
  t.equal(Object.getPrototypeOf({}), Object.prototype)
})
