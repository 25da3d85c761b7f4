const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * A fresh idempotency key for a publish: 22 URL-safe characters (132 random bits) from
 * `crypto.getRandomValues`, which browsers offer on plain `http:` pages too (unlike `randomUUID`).
 */
export function idempotencyKey(): string {
  const bytes = new Uint8Array(22)
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes)
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  let key = ''
  for (const byte of bytes) key += ALPHABET[byte & 63]
  return key
}
