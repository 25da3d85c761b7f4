import type { Codec, CodecName } from './codec.js'
import type { ServerFrame } from './frames.js'
import { wsFrame } from './ws-frame.js'

/** Stands in for the frame of a PreparedFrame built from JSON text until it is parsed. */
const UNPARSED: ServerFrame = Object.freeze({ type: 'pong', id: 0 })

/**
 * One server frame prepared for broadcast: it is encoded lazily, at most once per codec, and
 * the bytes are shared by every connection that sends it, so a message sent to 5,000
 * connections costs one encoding per codec in use rather than 5,000.
 *
 * The frame must not be mutated after it is wrapped.
 */
export class PreparedFrame {
  #frame: ServerFrame | undefined
  #type: ServerFrame['type'] | undefined
  readonly #encoded: { [name in CodecName]?: string | Uint8Array } = {}
  readonly #framed: { [name in CodecName]?: Buffer } = {}

  /** Wraps `frame`; nothing is encoded until {@link encoded} asks. */
  constructor(frame: ServerFrame) {
    this.#frame = frame
    this.#type = frame.type
  }

  /**
   * Wraps a frame already encoded as JSON, e.g. a payload received from the broker: JSON
   * connections send `text` as is, and it is parsed only if another codec needs the frame.
   * `text` must come from the server itself (it is trusted, not validated). With `type` (the
   * frame's type, when the caller knows it) {@link type} answers without parsing either.
   */
  static fromJson(text: string, type?: ServerFrame['type']): PreparedFrame {
    const prepared = new PreparedFrame(UNPARSED)
    prepared.#frame = undefined
    prepared.#type = type
    prepared.#encoded.json = text
    return prepared
  }

  /** The frame's type; parses JSON text only when it was prepared without its type. */
  get type(): ServerFrame['type'] {
    return this.#type ?? this.frame.type
  }

  /** The frame, parsed from the JSON text on first use. Throws a SyntaxError if that text is not JSON. */
  get frame(): ServerFrame {
    if (this.#frame === undefined) this.#frame = JSON.parse(this.#encoded.json as string) as ServerFrame
    return this.#frame
  }

  /**
   * The complete unmasked WebSocket frame (header and payload, one buffer) of the frame encoded
   * with `codec`: built on the first call for that codec, then the same bytes for every
   * connection (server frames are never masked, so they can be shared).
   */
  framed(codec: Codec): Buffer {
    let framed = this.#framed[codec.name]
    if (framed === undefined) {
      framed = wsFrame(this.encoded(codec), codec.binary)
      this.#framed[codec.name] = framed
    }
    return framed
  }

  /** The frame encoded with `codec`, encoding it on the first call for that codec's name only. */
  encoded(codec: Codec): string | Uint8Array {
    let encoded = this.#encoded[codec.name]
    if (encoded === undefined) {
      encoded = codec.encode(this.frame)
      this.#encoded[codec.name] = encoded
    }
    return encoded
  }
}
