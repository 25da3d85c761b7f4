import type { IncomingMessage, ServerResponse } from 'node:http'
import { SwitchboardError, type ErrorDetail, type TokenVerifier } from '@switchboard/core'
import type { z } from 'zod'
import { HttpError } from './http-error.js'

/** Most schema issues listed in an error's `details` (as on the wire). */
const MAX_DETAILS = 20

/** Writes `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res
    .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers })
    .end(text)
}

/**
 * Reads the request body, at most `maxBytes`, and parses it as JSON.
 * @throws HttpError 413 `BAD_FRAME` past `maxBytes` (by `Content-Length` before reading, or
 *   while reading), 400 `BAD_FRAME` for an empty body or one that is not JSON.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = (): HttpError => new HttpError(413, 'BAD_FRAME', `The request body is larger than ${maxBytes} bytes.`)
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new HttpError(400, 'BAD_FRAME', 'Expected a JSON object as the request body.')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new HttpError(400, 'BAD_FRAME', 'The request body is not valid JSON.')
  }
}

/**
 * The user of the request's `Authorization: Bearer <token>` header, verified like a `connect`
 * token.
 * @throws HttpError 401 `UNAUTHORIZED` without a bearer token or with a bad one, 401 `TOKEN_EXPIRED` for an expired one;
 *   the verifier's `INTERNAL` (the token could not be checked now) as it is, answered 500.
 */
export async function bearerUser(req: IncomingMessage, verify: TokenVerifier): Promise<string> {
  const match = /^Bearer +([^\s]+) *$/i.exec(req.headers.authorization ?? '')
  if (!match) {
    throw new HttpError(401, 'UNAUTHORIZED', 'Send a token in the header Authorization: Bearer <token>.', { headers: { 'WWW-Authenticate': 'Bearer' } })
  }
  try {
    return (await verify(match[1]!)).user
  } catch (error) {
    // INTERNAL: the token could not be checked now (the identity provider's keys unavailable): a 500, not a refusal.
    if (!(error instanceof SwitchboardError) || error.code === 'INTERNAL') throw error
    throw new HttpError(401, error.code, error.message, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } })
  }
}

/**
 * `value` parsed by `schema`.
 * @throws HttpError 400 `VALIDATION` listing the issues in `details` (`{ path, message }`, at most 20).
 */
export function parseWith<Schema extends z.ZodType>(schema: Schema, value: unknown, what: string): z.infer<Schema> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const details: ErrorDetail[] = result.error.issues.slice(0, MAX_DETAILS).map(issue => ({ path: issue.path.map(String).join('.'), message: issue.message }))
  throw new HttpError(400, 'VALIDATION', `The ${what} failed validation.`, { details })
}

/**
 * The query string as an object of strings.
 * @throws HttpError 400 `VALIDATION` when a parameter is given more than once.
 */
export function queryObject(url: URL): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [name, value] of url.searchParams) {
    if (Object.hasOwn(query, name)) {
      throw new HttpError(400, 'VALIDATION', 'The query failed validation.', { details: [{ path: name, message: 'given more than once' }] })
    }
    query[name] = value
  }
  return query
}
