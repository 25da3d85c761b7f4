import { type ErrorDetail, SwitchboardError, isSwitchboardError } from '../errors.js'
import type { Codec } from './codec.js'
import { CHANNEL_NAME_PATTERN, MAX_CHANNEL_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH, type ClientFrame, type PublishFrame, clientFrameSchemas } from './frames.js'

/** Deepest nesting of objects and arrays in a frame, the frame itself being level 1. */
export const MAX_NESTING_DEPTH = 32

/**
 * The outcome of {@link decodeClientFrame}: the validated frame, or a `BAD_FRAME` error with the
 * `id` to answer with when the frame had a readable one, and `object: true` when the frame did
 * decode to an object (one that is not a well-formed client frame), rather than to garbage.
 */
export type DecodeResult = { ok: true; frame: ClientFrame } | { ok: false; id?: number; object?: true; error: SwitchboardError }

type Schema = (typeof clientFrameSchemas)[keyof typeof clientFrameSchemas]

// A Map, not the object: `type` is untrusted and may be `__proto__` or `toString`.
const schemasByType = new Map<string, Schema>(Object.entries(clientFrameSchemas))

const OBJECT_PROTOTYPE = Object.prototype

interface Problem {
  /** Path segments, innermost first while the walk unwinds. */
  readonly segments: string[]
  readonly message: string
}

/**
 * Decodes and validates one frame received from a client. Never throws: every failure is a
 * `BAD_FRAME` result, with `details` (`[{ path, message }]`, dotted paths like `since.seq`)
 * when the frame parsed but is not a well-formed client frame.
 *
 * Besides the schema, the frame (including deep inside `data`) must hold only JSON values
 * (MessagePack `bin` and non-finite numbers are refused), nest at most
 * {@link MAX_NESTING_DEPTH} levels, and carry no own `__proto__` key and no `constructor`
 * key whose value has a `prototype` key: such shapes pollute prototypes when merged into
 * objects later. Unknown top-level fields are stripped (see `clientFrameSchemas`).
 *
 * The deep walk is skipped on the hot path: for a text (JSON) frame it runs only when the raw
 * bytes could hide a problem — they contain `__proto__`, `constructor`, a `\u` escape (which
 * could spell either), or more `{`/`[` than the depth limit. Binary (MessagePack) frames are
 * always walked, since their bytes give no such cheap hint. One consequence: a JSON number too
 * large for a double (`1e400`) reaches `data` as `Infinity` unchecked; top-level fields refuse
 * it, and for `data` it is the channel schema's call (zod's `z.number()` refuses it).
 */
export function decodeClientFrame(codec: Codec, raw: Buffer, isBinary: boolean): DecodeResult {
  let value: unknown
  try {
    value = codec.decode(raw, isBinary)
  } catch (error) {
    return {
      ok: false,
      error: isSwitchboardError(error, 'BAD_FRAME') ? error : new SwitchboardError('BAD_FRAME', undefined, { cause: error }),
    }
  }
  try {
    return validate(codec, raw, value)
  } catch (error) {
    return { ok: false, error: new SwitchboardError('BAD_FRAME', undefined, { cause: error }) }
  }
}

function validate(codec: Codec, raw: Buffer, value: unknown): DecodeResult {
  if (!isPlainObject(value)) {
    return { ok: false, error: new SwitchboardError('BAD_FRAME', 'A frame must be an object.', { details: [{ path: '', message: 'Expected an object' }] }) }
  }
  const id = recoverId(value)
  if (codec.binary || mayHideProblem(raw)) {
    const problem = inspect(value, 1)
    if (problem !== undefined) {
      // Keys come from the client: bound the echo.
      const path = problem.segments.reverse().join('.').slice(0, 200)
      return fail(id, 'The frame holds a value that is not allowed.', [{ path, message: problem.message }])
    }
  }
  const type = value['type']
  if (type === 'publish') {
    const frame = wellFormedPublish(value)
    if (frame !== undefined) return { ok: true, frame }
  }
  const schema = typeof type === 'string' ? schemasByType.get(type) : undefined
  if (schema === undefined) {
    const message = typeof type === 'string' ? `Unknown frame type \`${type.slice(0, 40)}\`` : 'Expected a string'
    return fail(id, 'Unknown frame type.', [{ path: 'type', message }])
  }
  const result = schema.safeParse(value)
  if (result.success) return { ok: true, frame: result.data }
  const details = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }))
  return fail(id, `Invalid \`${type}\` frame.`, details)
}

/**
 * The hot path's `publish`: the frame `clientFrameSchemas.publish` would output (known fields
 * only, `key` only when given) when `value` is a well-formed publish, checked by hand; otherwise
 * undefined, and the schema then says what is wrong.
 */
function wellFormedPublish(value: Record<string, unknown>): PublishFrame | undefined {
  const { id, channel, data, key } = value
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return undefined
  if (typeof channel !== 'string' || channel.length > MAX_CHANNEL_LENGTH || !CHANNEL_NAME_PATTERN.test(channel)) return undefined
  if (data === undefined) return undefined
  if (key === undefined) return { type: 'publish', id, channel, data }
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return undefined
  return { type: 'publish', id, channel, data, key }
}

/** A frame that decoded to an object but is not a well-formed client frame. */
function fail(id: number | undefined, message: string, details: ErrorDetail[]): DecodeResult {
  const error = new SwitchboardError('BAD_FRAME', message, { details })
  return id === undefined ? { ok: false, object: true, error } : { ok: false, id, object: true, error }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === OBJECT_PROTOTYPE
}

function recoverId(frame: Record<string, unknown>): number | undefined {
  const id = Object.hasOwn(frame, 'id') ? frame['id'] : undefined
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined
}

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
// Buffers, not strings: `includes` would otherwise encode the needle on every call.
const PROTO = Buffer.from('__proto__')
const CONSTRUCTOR = Buffer.from('constructor')
const UNICODE_ESCAPE = Buffer.from('\\u')

/** Cheap test on JSON bytes: could the parsed value break a rule the schema cannot see? */
function mayHideProblem(raw: Buffer): boolean {
  return (
    raw.includes(PROTO) ||
    raw.includes(CONSTRUCTOR) ||
    raw.includes(UNICODE_ESCAPE) ||
    countUpTo(raw, OPEN_BRACE, MAX_NESTING_DEPTH + 1) + countUpTo(raw, OPEN_BRACKET, MAX_NESTING_DEPTH + 1) >
      MAX_NESTING_DEPTH
  )
}

/** Occurrences of `byte` in `raw`, counting no further than `max` (each step is a native search). */
function countUpTo(raw: Buffer, byte: number, max: number): number {
  let count = 0
  let at = raw.indexOf(byte)
  while (at !== -1 && count < max) {
    count++
    at = raw.indexOf(byte, at + 1)
  }
  return count
}

/** Walks `value` (at nesting `depth`) for anything but safe JSON; returns the first problem. */
function inspect(value: unknown, depth: number): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(value) ? undefined : { segments: [], message: 'Numbers must be finite' }
    case 'object':
      if (value === null) return undefined
      if (depth > MAX_NESTING_DEPTH) {
        return { segments: [], message: `Nested deeper than ${MAX_NESTING_DEPTH} levels` }
      }
      if (Array.isArray(value)) return inspectArray(value, depth)
      if (isPlainObject(value)) return inspectObject(value, depth)
      return { segments: [], message: 'Only JSON values are allowed (no binary data)' }
    default:
      return { segments: [], message: 'Only JSON values are allowed' }
  }
}

function inspectArray(array: readonly unknown[], depth: number): Problem | undefined {
  for (let index = 0; index < array.length; index++) {
    const problem = inspect(array[index], depth + 1)
    if (problem !== undefined) {
      problem.segments.push(String(index))
      return problem
    }
  }
  return undefined
}

function inspectObject(object: Record<string, unknown>, depth: number): Problem | undefined {
  for (const key of Object.keys(object)) {
    const child = object[key]
    if (key === '__proto__') return { segments: [key], message: 'The key `__proto__` is not allowed' }
    if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
      return { segments: [key], message: 'A `constructor` with a `prototype` is not allowed' }
    }
    const problem = inspect(child, depth + 1)
    if (problem !== undefined) {
      problem.segments.push(key)
      return problem
    }
  }
  return undefined
}
