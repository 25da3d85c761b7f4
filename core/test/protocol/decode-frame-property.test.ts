import t from 'tap'
import { encode } from '@msgpack/msgpack'
import { SwitchboardError } from '../../src/errors.js'
import type { Codec } from '../../src/protocol/codec.js'
import { MAX_NESTING_DEPTH, decodeClientFrame } from '../../src/protocol/decode-frame.js'
import { clientFrameSchema } from '../../src/protocol/frames.js'
import { jsonCodec } from '../../src/protocol/json-codec.js'
import { msgpackCodec } from '../../src/protocol/msgpack-codec.js'
import { clientFrames } from './fixtures/frames.js'

/** mulberry32: a small seeded PRNG, so every run (and every failure) is reproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const SEED = 0x5b0a4d
const random = prng(SEED)
const int = (max: number) => Math.floor(random() * max)
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T

const KEYS = ['type', 'id', 'channel', 'data', 'since', 'seq', 'epoch', 'token', 'key', 'limit', 'before', 'client',
  'name', '__proto__', 'constructor', 'prototype', 'toString', 'x', '']
const STRINGS = ['', 'ping', 'publish', 'room:lobby', 'a:b', 'Room:x', 'room: x', '__proto__', 'constructor', '\ud800',
  '\u2028', 'é✓🙂', 'x'.repeat(300), 'subscribe', 'connect', 'ack', 'history', 'presence', 'refresh', 'unsubscribe']
const NUMBERS = [0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 31, -(2 ** 63), 1e308, Number.NaN, Number.POSITIVE_INFINITY, 50, 100, 101]

/** A random JSON-ish value; objects may carry own `__proto__` keys and deep nesting. */
function value(depth: number): unknown {
  const kind = int(depth > 6 ? 5 : 8)
  switch (kind) {
    case 0: return null
    case 1: return random() < 0.5
    case 2: return pick(NUMBERS)
    case 3: return pick(STRINGS)
    case 4: return int(1000)
    case 5: return Array.from({ length: int(4) }, () => value(depth + 1))
    case 6: {
      const object: Record<string, unknown> = {}
      for (let i = int(5); i > 0; i--) {
        Object.defineProperty(object, pick(KEYS), { value: value(depth + 1), enumerable: true, configurable: true, writable: true })
      }
      return object
    }
    default: {
      let nestedValue: unknown = value(depth + 1)
      for (let i = int(60); i > 0; i--) nestedValue = random() < 0.5 ? [nestedValue] : { x: nestedValue }
      return nestedValue
    }
  }
}

/** A valid frame with one field replaced, removed or added at random. */
function mutatedFrame(): unknown {
  const frame: Record<string, unknown> = { ...pick(clientFrames) }
  const key = pick(KEYS)
  if (random() < 0.2) delete frame[key]
  else Object.defineProperty(frame, key, { value: value(1), enumerable: true, configurable: true, writable: true })
  return frame
}

/** The bytes a client would send for `input` with `codec`, sometimes corrupted. */
function encodeFor(codec: Codec, input: unknown): Buffer | undefined {
  let raw: Buffer
  try {
    raw = codec.binary ? Buffer.from(encode(input)) : Buffer.from(JSON.stringify(input) ?? 'undefined')
  } catch {
    return undefined
  }
  if (random() < 0.25 && raw.length > 0) raw[int(raw.length)] = int(256)
  if (random() < 0.05) raw = raw.subarray(0, int(raw.length))
  return raw
}

/** Whether `input` is plain JSON nested at most `budget` levels, with no prototype-polluting key. */
function safeJson(input: unknown, budget: number): boolean {
  if (typeof input === 'number') return Number.isFinite(input)
  if (typeof input !== 'object' || input === null) return typeof input !== 'undefined'
  if (budget === 0) return false
  if (Array.isArray(input)) return input.every((item) => safeJson(item, budget - 1))
  if (Object.getPrototypeOf(input) !== Object.prototype) return false
  return Object.entries(input).every(([key, item]) =>
    key !== '__proto__' &&
    !(key === 'constructor' && typeof item === 'object' && item !== null && 'prototype' in item) &&
    safeJson(item, budget - 1))
}

t.test('decodeClientFrame › never throws, and always answers ok or BAD_FRAME (property)', async (t) => {
  const problems: string[] = []
  let decoded = 0
  let accepted = 0
  const check = (codec: Codec, raw: Buffer, isBinary: boolean) => {
    decoded++
    try {
      const result = decodeClientFrame(codec, raw, isBinary)
      if (result.ok) {
        accepted++
        if (!clientFrameSchema.safeParse(result.frame).success) problems.push(`accepted an invalid frame: ${raw.toString('hex')}`)
        if (!safeJson(result.frame, MAX_NESTING_DEPTH)) problems.push(`accepted an unsafe frame: ${raw.toString('hex')}`)
      } else if (!(result.error instanceof SwitchboardError) || result.error.code !== 'BAD_FRAME') {
        problems.push(`not a BAD_FRAME: ${raw.toString('hex')}`)
      } else if (result.id !== undefined && !(Number.isSafeInteger(result.id) && result.id > 0)) {
        problems.push(`bad id ${String(result.id)}: ${raw.toString('hex')}`)
      }
    } catch (error) {
      problems.push(`threw ${String(error)}: ${codec.name} ${raw.toString('hex').slice(0, 200)}`)
    }
  }

  for (let i = 0; i < 10_000; i++) {
    const raw = Buffer.from(Array.from({ length: int(random() < 0.9 ? 64 : 1024) }, () => int(256)))
    const codec = i % 2 === 0 ? jsonCodec : msgpackCodec
    check(codec, raw, random() < 0.9 ? codec.binary : !codec.binary)
  }
  for (let i = 0; i < 10_000; i++) {
    const codec = i % 2 === 0 ? jsonCodec : msgpackCodec
    const raw = encodeFor(codec, random() < 0.6 ? mutatedFrame() : value(0))
    if (raw !== undefined) check(codec, raw, codec.binary)
  }

  t.same(problems.slice(0, 5), [], `seed ${SEED}`)
  t.ok(decoded >= 19_000, `decoded ${decoded} inputs`)
  t.ok(accepted > 100, `accepted ${accepted} frames, so valid shapes were exercised too`)
  t.equal(({} as Record<string, unknown>)['polluted'], undefined)
  t.equal(Object.getPrototypeOf({}), Object.prototype)
})
