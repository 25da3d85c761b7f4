import { Encoder, decode } from '@msgpack/msgpack'
import type { ClientCodec } from './codec.js'

/** Fields set to `undefined` are left out, as JSON leaves them out (not sent as `nil`, which the server refuses for optional fields). */
const encoder = new Encoder({ ignoreUndefined: true })

/**
 * `@switchboard/client/msgpack` — the `switchboard.v1.msgpack` codec (binary frames), kept out of
 * the main entry so the default browser bundle carries no MessagePack code. Pass it as
 * `createClient({ codec: msgpackCodec, ... })`. Needs the `@msgpack/msgpack` package.
 */
export const msgpackCodec: ClientCodec = {
  subprotocol: 'switchboard.v1.msgpack',
  encode: frame => encoder.encode(frame),
  decode: data => decode(typeof data === 'string' ? new TextEncoder().encode(data) : data),
}
