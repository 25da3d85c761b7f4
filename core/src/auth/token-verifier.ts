import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { SwitchboardError } from '../errors.js'
import type { JwtOptions } from '../options.js'


/** The `from` of server-side publishes; a token for this user id is refused. */
export const SYSTEM_USER = 'system'

/** What a verified token says: who the user is, until when, and every claim it carried. */
export interface VerifiedToken {
  /** The user id: the token's `sub` claim, never empty. */
  user: string
  /** Expiry, in seconds since the Unix epoch (the `exp` claim). */
  exp: number
  /** Every claim of the token (`sub`, `exp` and custom ones), frozen. */
  claims: Readonly<Record<string, unknown>>
}

/**
 * Verifies a bearer token and says who it belongs to.
 * Rejects with {@link SwitchboardError} `TOKEN_EXPIRED` when the token has expired,
 * `UNAUTHORIZED` when it is not valid, and `INTERNAL` when it could not be checked (the keys to
 * check it with are unavailable): the token may be fine, so the client should try again with it.
 */
export type TokenVerifier = (token: string) => Promise<VerifiedToken>

const HMAC_ALGORITHMS = ['HS256']
const JWKS_ALGORITHMS = ['RS256', 'ES256']
const DEFAULT_CLOCK_TOLERANCE_SEC = 5

/**
 * Creates a {@link TokenVerifier} for JWTs (PROTOCOL.md, "Tokens").
 *
 * With `secret`, only HS256 tokens signed with that secret are accepted; with `jwksUrl`, only
 * RS256 and ES256 tokens signed by a key of that JWK Set (fetched on first use, cached for 10
 * minutes, refetched at most every 30 s when an unknown `kid` shows up; jose defaults, with a
 * 5 s fetch timeout). Any other `alg`, `none` included, is refused, so an HS/RS algorithm
 * swap cannot pass. `sub` must be a non-empty string and `exp`
 * must be present; `nbf` is honoured; `aud` and `iss` are checked when `audience`/`issuer`
 * are set. `clockToleranceSec` (default 5, in seconds) applies to `exp` and `nbf`.
 *
 * The verifier rejects with `SwitchboardError` `TOKEN_EXPIRED` for a validly signed but expired
 * token, `UNAUTHORIZED` (a short message safe for clients, the original error as `cause`) for
 * a token that is not valid: bad signature, malformed token, missing or invalid claims, a `kid`
 * the JWK Set does not have; and `INTERNAL` when the token could not be checked: the JWKS
 * endpoint unreachable, failing or answering something that is not a JWK Set.
 *
 * @throws SwitchboardError `CONFIG_INVALID` when neither or both of `secret` and `jwksUrl`
 *   are given, when `secret` is empty, `jwksUrl` is not an http(s) URL, or
 *   `clockToleranceSec` is not a non-negative number.
 */
export function createJwtVerifier(options: JwtOptions): TokenVerifier {
  const { secret, jwksUrl, audience, issuer } = options
  const clockTolerance = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC
  if (secret !== undefined && jwksUrl !== undefined) {
    throw new SwitchboardError('CONFIG_INVALID', 'option jwt: got both secret and jwksUrl, expected only one of them')
  }
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new SwitchboardError(
      'CONFIG_INVALID',
      `option jwt.clockToleranceSec: got ${String(clockTolerance)}, expected a number of seconds >= 0`,
    )
  }

  let verify: Verify
  if (secret !== undefined) verify = hmacVerify(secret)
  else if (jwksUrl !== undefined) verify = jwksVerify(jwksUrl)
  else throw new SwitchboardError('CONFIG_INVALID', 'option jwt: got neither secret nor jwksUrl, expected one of them')
  const verifyOptions = {
    clockTolerance,
    requiredClaims: ['exp', 'sub'],
    ...(audience === undefined ? {} : { audience }),
    ...(issuer === undefined ? {} : { issuer }),
  }

  return async (token: string): Promise<VerifiedToken> => {
    if (typeof token !== 'string' || token.length === 0) {
      throw new SwitchboardError('UNAUTHORIZED', 'Invalid token.')
    }
    let payload: JWTPayload
    try {
      payload = await verify(token, verifyOptions)
    } catch (error) {
      throw toSwitchboardError(error)
    }
    const { sub, exp } = payload
    if (typeof sub !== 'string' || sub.length === 0) {
      throw new SwitchboardError('UNAUTHORIZED', 'The token has no valid `sub` claim.')
    }
    if (sub === SYSTEM_USER) {
      // Messages from the server carry `from: "system"`: no client may pass for it.
      throw new SwitchboardError('UNAUTHORIZED', 'The user id "system" is reserved.')
    }
    if (typeof exp !== 'number') throw new SwitchboardError('UNAUTHORIZED', 'The token has no `exp` claim.')
    return { user: sub, exp, claims: Object.freeze({ ...payload }) }
  }
}

type VerifyOptions = Parameters<typeof jwtVerify>[2]
type Verify = (token: string, options: VerifyOptions) => Promise<JWTPayload>

function hmacVerify(secret: string): Verify {
  if (secret.length === 0) {
    throw new SwitchboardError('CONFIG_INVALID', 'option jwt.secret: got an empty string, expected a non-empty secret')
  }
  const key = new TextEncoder().encode(secret)
  return async (token, options) => (await jwtVerify(token, key, { ...options, algorithms: HMAC_ALGORITHMS })).payload
}

function jwksVerify(jwksUrl: string): Verify {
  const url = URL.canParse(jwksUrl) ? new URL(jwksUrl) : undefined
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new SwitchboardError(
      'CONFIG_INVALID',
      `option jwt.jwksUrl: got ${JSON.stringify(jwksUrl)}, expected an http(s) URL`,
    )
  }
  const keys: JWTVerifyGetKey = createRemoteJWKSet(url)
  return async (token, options) => (await jwtVerify(token, keys, { ...options, algorithms: JWKS_ALGORITHMS })).payload
}

/** Maps a jose (or fetch) failure to a coded error with a message that names no internals. */
function toSwitchboardError(error: unknown): SwitchboardError {
  if (error instanceof errors.JWTExpired) {
    return new SwitchboardError('TOKEN_EXPIRED', undefined, { cause: error })
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new SwitchboardError('UNAUTHORIZED', claimMessage(error), { cause: error })
  }
  const invalid =
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  if (invalid) return new SwitchboardError('UNAUTHORIZED', 'Invalid token.', { cause: error })
  // Anything else (JWKS fetch failure or timeout, a bad JWK Set, an unexpected error) is not the
  // token's fault: it cannot be trusted now, but a client that took it for refused would never
  // use it again, though it may be fine once the keys are back.
  return new SwitchboardError('INTERNAL', 'The token could not be verified now; try again.', { cause: error })
}

function claimMessage(error: InstanceType<typeof errors.JWTClaimValidationFailed>): string {
  if (error.reason === 'missing') return `The token has no \`${error.claim}\` claim.`
  switch (error.claim) {
    case 'nbf':
      return 'The token is not valid yet.'
    case 'aud':
      return 'The token is for another audience.'
    case 'iss':
      return 'The token is from another issuer.'
    default:
      return 'The token has an invalid claim.'
  }
}

/**
 * Signs an HS256 development token for `user` with `secret`, for tests and the example app's
 * development token route (never for production identity).
 *
 * `options.expiresInSec` is the lifetime in seconds (default 3600); `options.claims` are extra
 * claims, which cannot override `sub`, `iat` or `exp`.
 *
 * @throws SwitchboardError `CONFIG_INVALID` when `secret` or `user` is empty or
 *   `expiresInSec` is not a positive number.
 */
export async function signDevToken(
  secret: string,
  user: string,
  options: { expiresInSec?: number; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const expiresInSec = options.expiresInSec ?? 3600
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new SwitchboardError('CONFIG_INVALID', 'signDevToken secret: got an empty value, expected a non-empty string')
  }
  if (typeof user !== 'string' || user.length === 0) {
    throw new SwitchboardError('CONFIG_INVALID', 'signDevToken user: got an empty value, expected a non-empty string')
  }
  if (!Number.isFinite(expiresInSec) || expiresInSec <= 0) {
    throw new SwitchboardError(
      'CONFIG_INVALID',
      `signDevToken expiresInSec: got ${String(expiresInSec)}, expected a positive number of seconds`,
    )
  }
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(expiresInSec))
    .sign(new TextEncoder().encode(secret))
}
