/** Size in bytes of every benchmark message body (the `data` a publisher sends). */
export const PAYLOAD_BYTES = 200

const FILLER = 'x'.repeat(PAYLOAD_BYTES)
const T_MARK = Buffer.from('"t":')
const ZERO = 0x30
const NINE = 0x39
const DOT = 0x2e

/**
 * The JSON body of one benchmark message, exactly {@link PAYLOAD_BYTES} bytes:
 * `{"t":<send time, ms>,"p":"xxx…"}`. Every target carries it unchanged inside its own envelope,
 * so receivers find the send time the same way whatever the target.
 */
export function makePayload(sentAtMs: number): string {
  const head = `{"t":${sentAtMs.toFixed(3)},"p":"`
  return head + FILLER.slice(0, Math.max(0, PAYLOAD_BYTES - head.length - 2)) + '"}'
}

/**
 * Reads the send time out of a received frame (any target's envelope) without decoding it:
 * finds the first `"t":` and parses the decimal number after it. Returns NaN when absent.
 */
export function extractSentAt(frame: Buffer): number {
  const at = frame.indexOf(T_MARK)
  if (at < 0) return NaN
  let i = at + T_MARK.length
  let whole = 0
  let c = frame[i]!
  while (c >= ZERO && c <= NINE) {
    whole = whole * 10 + (c - ZERO)
    c = frame[++i]!
  }
  if (c !== DOT) return whole
  let scale = 0.1
  c = frame[++i]!
  while (c >= ZERO && c <= NINE) {
    whole += (c - ZERO) * scale
    scale /= 10
    c = frame[++i]!
  }
  return whole
}

/**
 * Reads the non-negative integer that follows `marker` in `frame` (e.g. `"id":` in a reply),
 * starting the search at `from`. Returns -1 when the marker is absent.
 */
export function extractInt(frame: Buffer, marker: Buffer, from = 0): number {
  const at = frame.indexOf(marker, from)
  if (at < 0) return -1
  return readInt(frame, at + marker.length)
}

/** The non-negative decimal integer starting at `offset` of `frame` (-1 when there is no digit). */
export function readInt(frame: Buffer, offset: number): number {
  let i = offset
  let c = frame[i]
  if (c === undefined || c < ZERO || c > NINE) return -1
  let n = 0
  while (c !== undefined && c >= ZERO && c <= NINE) {
    n = n * 10 + (c - ZERO)
    c = frame[++i]
  }
  return n
}
