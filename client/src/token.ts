/**
 * The `exp` claim of a JWT (seconds since the Unix epoch), read from its payload WITHOUT
 * verifying the signature (the server verifies; the SDK only wants to know when to refresh).
 * Undefined when the token is not a JWT or has no numeric `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1]
  if (!payload) return undefined
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (payload.length % 4)) % 4)
    const binary = atob(base64)
    const bytes = Uint8Array.from(binary, c => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { exp?: unknown }
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : undefined
  } catch {
    return undefined
  }
}

/** Whether the token's `exp` (when it has one) lies in the past at `now` (ms). */
export function isExpired(token: string, now = Date.now()): boolean {
  const exp = tokenExpiry(token)
  return exp !== undefined && exp * 1000 <= now
}

/**
 * How long before `expMs` to refresh a token, as seen at `now`: `marginMs`, but at most a fifth
 * of the time left and at least one second, so a 1-hour token refreshes 30 s early (the default
 * margin) and a 10-second one 2 s early. Returns the delay from `now` (ms, never negative).
 */
export function refreshDelay(expMs: number, now: number, marginMs: number): number {
  const left = expMs - now
  const margin = Math.max(1000, Math.min(marginMs, left / 5))
  return Math.max(0, left - margin)
}
