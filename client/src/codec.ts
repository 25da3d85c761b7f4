/** Encodes and decodes frames for one subprotocol. Inject another (e.g. msgpack) with the `codec` option. */
export interface ClientCodec {
  /** The WebSocket subprotocol offered, e.g. `switchboard.v1.json`. */
  readonly subprotocol: string
  /** One frame to one WebSocket message: text (`string`) or binary (`Uint8Array`). */
  encode(frame: object): string | Uint8Array
  /** One WebSocket message (text, or binary as an `ArrayBuffer`) to a frame. Throws on garbage. */
  decode(data: string | ArrayBuffer | Uint8Array): unknown
}

/** The default codec: `switchboard.v1.json`, UTF-8 JSON in text frames. */
export const jsonCodec: ClientCodec = {
  subprotocol: 'switchboard.v1.json',
  encode: frame => JSON.stringify(frame),
  decode: data => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)),
}
