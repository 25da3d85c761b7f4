import { CHANNEL_NAME_PATTERN, MAX_CHANNEL_LENGTH, type ChannelRegistry, type MessageStore, type TokenVerifier } from '@switchboard/core'
import { z } from 'zod'
import { HttpError } from './http-error.js'
import { bearerUser, parseWith, queryObject, sendJson } from './http-kit.js'
import type { Route } from './route.js'

/** `limit` when the query has none, and the largest allowed: as for the `history` frame (PROTOCOL.md). */
export const DEFAULT_HISTORY_LIMIT = 50
export const MAX_HISTORY_LIMIT = 100

const integer = z.string().regex(/^\d{1,15}$/, 'expected an integer').transform(Number)
const query = z.strictObject({
  before: integer.pipe(z.number().min(1, 'expected a seq of at least 1')).optional(),
  limit: integer.pipe(z.number().min(1, 'expected 1..100').max(MAX_HISTORY_LIMIT, 'expected 1..100')).optional(),
})

/**
 * `GET /api/channels/:channel/messages?before&limit` (Bearer) → `200 { channel, messages }`:
 * the same answer and rules as the `history` frame. The channel's `history` rule decides
 * (`403 FORBIDDEN` otherwise, with the rule's own message when it throws one), a name that is
 * not a channel name as the frame has it (`namespace:rest`, at most 200 characters, no spaces or
 * control characters) is `400 BAD_FRAME`, a name no definition matches is `404 UNKNOWN_CHANNEL`; `limit` is 1..100 (default 50), `before` a seq;
 * messages come oldest first; channels that are not persisted have none.
 */
export function historyRoutes(deps: { registry: ChannelRegistry; store: () => MessageStore; verify: TokenVerifier }): Route[] {
  return [
    {
      method: 'GET',
      path: /^\/api\/channels\/([^/]+)\/messages$/,
      async handle({ req, res, url, params }) {
        const user = await bearerUser(req, deps.verify)
        const { before, limit = DEFAULT_HISTORY_LIMIT } = parseWith(query, queryObject(url), 'query')
        const channel = decodeSegment(params[0]!)
        const resolved = deps.registry.resolve(channel)
        const allowed = await resolved.definition.authorize.history({ channel, params: resolved.params, user })
        if (allowed !== true) throw new HttpError(403, 'FORBIDDEN', `Not allowed on "${channel}".`)
        const messages = resolved.definition.persist ? await deps.store().history(channel, before === undefined ? { limit } : { before, limit }) : []
        sendJson(res, 200, { channel, messages })
      },
    },
  ]
}

/** The channel name of the path segment, checked as the `history` frame's `channel` is. */
function decodeSegment(segment: string): string {
  let channel: string
  try {
    channel = decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, 'BAD_FRAME', 'The channel name in the path is not valid percent-encoding.')
  }
  if (channel.length > MAX_CHANNEL_LENGTH || !CHANNEL_NAME_PATTERN.test(channel)) {
    throw new HttpError(400, 'BAD_FRAME', `The channel name in the path is not a channel name (namespace:rest, at most ${MAX_CHANNEL_LENGTH} characters, no spaces or control characters).`)
  }
  return channel
}
