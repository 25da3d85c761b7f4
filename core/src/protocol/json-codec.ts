import { SwitchboardError } from '../errors.js'
import type { Codec } from './codec.js'

/**
 * The JSON codec (`switchboard.v1.json`): UTF-8 JSON in text frames. The default when a client
 * offers no subprotocol. Binary frames are refused. `ws` has already checked that text frames
 * are valid UTF-8 (closing with 1007 otherwise).
 */
export const jsonCodec: Codec = Object.freeze({
  name: 'json',
  subprotocol: 'switchboard.v1.json',
  binary: false,
  encode(frame: object): string {
    return JSON.stringify(frame)
  },
  decode(raw: Buffer, isBinary: boolean): unknown {
    if (isBinary) {
      throw new SwitchboardError('BAD_FRAME', 'Binary frames are not accepted with switchboard.v1.json.')
    }
    try {
      return JSON.parse(raw.toString('utf8'))
    } catch (cause) {
      throw new SwitchboardError('BAD_FRAME', 'The frame is not valid JSON.', { cause })
    }
  },
})
