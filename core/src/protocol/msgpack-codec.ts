import { DecodeError, Decoder, Encoder, type ExtensionCodecType } from '@msgpack/msgpack'
import { SwitchboardError } from '../errors.js'
import type { Codec } from './codec.js'

/** Smallest size bucket of the decoder limits, in bytes. */
const MIN_LIMIT = 256

/**
 * Refuses every MessagePack extension type, the built-in timestamp (-1) included: frames carry
 * JSON values only, and an extension decoder is code run on untrusted bytes.
 */
const noExtensions: ExtensionCodecType<undefined> = {
  tryToEncode: () => null,
  decode(_data, type) {
    throw new DecodeError(`MessagePack extension type ${type} is not allowed`)
  },
}

/** Refuses non-string map keys (the library's default also accepts numbers). */
function stringKeysOnly(key: unknown): string {
  if (typeof key !== 'string') throw new DecodeError(`Map keys must be strings, not ${typeof key}`)
  return key
}

/**
 * Decoders by power-of-two size bucket. Each bounds string, binary, array and map lengths by its
 * bucket, so a declared length can never exceed twice the frame's size: a small frame cannot make
 * the decoder allocate a huge array or string. (Every element takes at least one byte, so a
 * genuine frame is always within its bucket.) The library itself rejects a `__proto__` map key,
 * so decoding never changes an object's prototype.
 */
const decoders = new Map<number, Decoder>()

function decoderFor(byteLength: number): Decoder {
  const limit = Math.max(MIN_LIMIT, 2 ** Math.ceil(Math.log2(byteLength)))
  let decoder = decoders.get(limit)
  if (decoder === undefined) {
    decoder = new Decoder({
      extensionCodec: noExtensions,
      mapKeyConverter: stringKeysOnly,
      useBigInt64: false,
      maxStrLength: limit,
      maxBinLength: limit,
      maxArrayLength: limit,
      maxMapLength: limit,
      maxExtLength: limit,
    })
    decoders.set(limit, decoder)
  }
  return decoder
}

/** `undefined` fields are left out, as JSON.stringify does, so both codecs carry the same objects. */
const encoder = new Encoder({ ignoreUndefined: true })

/**
 * The MessagePack codec (`switchboard.v1.msgpack`): binary frames. Text frames are refused, as
 * are extension types and non-string map keys. Decoded values may still hold binary (`bin`) or
 * non-finite numbers; `decodeClientFrame` rejects those.
 */
export const msgpackCodec: Codec = Object.freeze({
  name: 'msgpack',
  subprotocol: 'switchboard.v1.msgpack',
  binary: true,
  encode(frame: object): Uint8Array {
    return encoder.encode(frame)
  },
  decode(raw: Buffer, isBinary: boolean): unknown {
    if (!isBinary) {
      throw new SwitchboardError('BAD_FRAME', 'Text frames are not accepted with switchboard.v1.msgpack.')
    }
    try {
      return decoderFor(raw.byteLength).decode(raw)
    } catch (cause) {
      throw new SwitchboardError('BAD_FRAME', 'The frame is not valid MessagePack.', { cause })
    }
  },
})
