import type { Codec, CodecName } from './codec.js'
import { jsonCodec } from './json-codec.js'
import { msgpackCodec } from './msgpack-codec.js'

/** Every codec, in the server's order of preference (JSON first). */
export const CODECS: readonly Codec[] = Object.freeze([jsonCodec, msgpackCodec])

/** The subprotocols the server speaks, JSON first (for `Sec-WebSocket-Protocol`). */
export const SUBPROTOCOLS: readonly string[] = Object.freeze(CODECS.map((codec) => codec.subprotocol))

/** The codec of a connection whose client offered no subprotocol: JSON. */
export const DEFAULT_CODEC: Codec = jsonCodec

const bySubprotocol = new Map(CODECS.map((codec) => [codec.subprotocol, codec]))

/**
 * Picks the codec for a WebSocket handshake from the subprotocols the client offered
 * (`Sec-WebSocket-Protocol`, e.g. the `Set` that `ws`'s `handleProtocols` receives).
 *
 * - No offer: {@link DEFAULT_CODEC} (JSON), as PROTOCOL.md says.
 * - Offers including ours: the first one in the CLIENT's order. RFC 6455 has the client list
 *   subprotocols by its preference, and a client that offers msgpack before JSON (keeping JSON as
 *   a fallback for older servers) wants msgpack; the server speaks both equally well.
 * - Offers none of ours: `undefined`, so the caller refuses the handshake rather than silently
 *   speaking a protocol the client did not ask for.
 *
 * Names match exactly (subprotocol tokens are case-sensitive), after trimming whitespace.
 */
export function selectCodec(offered: Iterable<string>): Codec | undefined {
  let anyOffered = false
  for (const protocol of offered) {
    anyOffered = true
    const codec = bySubprotocol.get(protocol.trim())
    if (codec !== undefined) return codec
  }
  return anyOffered ? undefined : DEFAULT_CODEC
}

/** The codec called `name` (`json` or `msgpack`). */
export function codecByName(name: CodecName): Codec {
  return name === 'msgpack' ? msgpackCodec : jsonCodec
}
