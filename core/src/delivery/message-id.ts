import { randomFillSync } from 'node:crypto'

/** Random bytes drawn in bulk (one `randomFillSync` per 256 ids), as `crypto.randomUUID` does. */
const POOL_IDS = 256
const pool = Buffer.allocUnsafe(POOL_IDS * 10)
let poolOffset = pool.length

/** The two lowercase hex digits of each byte value, as character codes: byte b at [2b, 2b + 1]. */
const HEX_CODES = new Uint8Array(512)
for (let b = 0; b < 256; b++) {
  const hex = b.toString(16).padStart(2, '0')
  HEX_CODES[2 * b] = hex.charCodeAt(0)
  HEX_CODES[2 * b + 1] = hex.charCodeAt(1)
}

/** Where the id is spelled out (dashes in place), then read as one string: no string pieces to join. */
const text = Buffer.alloc(36, '-')

/** Writes `byte` as two hex digits at `at` of {@link text}. */
function hexAt(at: number, byte: number): void {
  text[at] = HEX_CODES[2 * byte]!
  text[at + 1] = HEX_CODES[2 * byte + 1]!
}

/**
 * A new message id (`mid`): a UUID version 7 (RFC 9562) — the current time in ms in its first
 * 48 bits, then 74 random bits. Unique like a random UUID, but ids made close in time sort close
 * together, so the store's index on `mid` grows at its right edge instead of at random pages.
 */
export function newMessageId(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const r = poolOffset
  poolOffset += 10
  const high = Math.floor(now / 0x1_0000_0000) & 0xffff
  const low = now >>> 0
  // xxxxxxxx-xxxx-7xxx-Vxxx-xxxxxxxxxxxx: 48 bits of time, version 7, 12 random bits, variant 10, 62 random bits.
  hexAt(0, high >>> 8)
  hexAt(2, high & 0xff)
  hexAt(4, low >>> 24)
  hexAt(6, (low >>> 16) & 0xff)
  hexAt(9, (low >>> 8) & 0xff)
  hexAt(11, low & 0xff)
  hexAt(14, 0x70 | (pool[r]! & 0x0f))
  hexAt(16, pool[r + 1]!)
  hexAt(19, 0x80 | (pool[r + 2]! & 0x3f))
  hexAt(21, pool[r + 3]!)
  for (let i = 0; i < 6; i++) hexAt(24 + 2 * i, pool[r + 4 + i]!)
  return text.toString('latin1', 0, 36)
}
