/**
 * One complete unmasked WebSocket data frame (header and payload in one buffer), as a server
 * sends it (RFC 6455 §5.2: FIN set, no RSV bits, no mask). Built in one allocation, so a send is
 * one socket write rather than `ws`'s corked header and payload.
 *
 * @param payload the frame's payload: a string is written as UTF-8 (a text frame), bytes as is.
 * @param binary  opcode 2 (binary) when true, 1 (text) otherwise.
 */
export function wsFrame(payload: string | Uint8Array, binary: boolean): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = binary ? 0x82 : 0x81
  if (header === 2) {
    frame[1] = length
  } else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  if (typeof payload === 'string') frame.write(payload, header, length, 'utf8')
  else frame.set(payload, header)
  return frame
}
