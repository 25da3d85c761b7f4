import type { ServerFrame } from './frames.js'

/** The name of a wire encoding. */
export type CodecName = 'json' | 'msgpack'

/**
 * One wire encoding of the protocol's frames, bound to a WebSocket subprotocol. Codecs are
 * stateless and shared by every connection that negotiated them.
 */
export interface Codec {
  /** Short name, used in options and metrics. */
  readonly name: CodecName
  /** The WebSocket subprotocol that selects this codec (`switchboard.v1.json`). */
  readonly subprotocol: string
  /** Whether frames travel as binary WebSocket frames (otherwise text). */
  readonly binary: boolean
  /**
   * Encodes one frame: a string for text codecs, bytes for binary ones.
   * Throws whatever the encoder throws on a value it cannot encode (a cycle, a bigint).
   */
  encode(frame: ServerFrame | object): string | Uint8Array
  /**
   * Decodes one received WebSocket frame into a plain value (not yet validated).
   * Throws a `BAD_FRAME` `SwitchboardError` on unparseable input or the wrong frame kind
   * (binary for a text codec, or text for a binary one); the caller maps it to a reply.
   */
  decode(raw: Buffer, isBinary: boolean): unknown
}
