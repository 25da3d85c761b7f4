import type { TokenVerifier } from '@switchboard/core'
import { z } from 'zod'
import type { RoomDirectory } from '../rooms/room-directory.js'
import { userNameSchema } from '../rooms/user-names.js'
import { bearerUser, parseWith, readJsonBody, sendJson } from './http-kit.js'
import type { Route } from './route.js'

/** Most members a room may be created with (the creator aside). */
export const MAX_INITIAL_MEMBERS = 100

/** Control characters (NUL, line breaks, …) and lone surrogates: PostgreSQL refuses NUL, and none of them belongs in a room's name. */
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100).refine(name => !UNPRINTABLE.test(name), 'must not contain control characters or lone surrogates'),
  members: z.array(userNameSchema).max(MAX_INITIAL_MEMBERS).default([]),
})

/**
 * `POST /api/rooms` `{ name, members? }` (Bearer) → `201 { room: { id, name, channel,
 * createdBy, createdAt, members } }`: creates a room whose members are the caller and
 * `members`. `GET /api/rooms` (Bearer) → `200 { rooms: [...] }`: the caller's rooms, the lobby
 * first.
 */
export function roomRoutes(deps: { rooms: RoomDirectory; verify: TokenVerifier; maxBodyBytes: number }): Route[] {
  return [
    {
      method: 'POST',
      path: /^\/api\/rooms$/,
      async handle({ req, res }) {
        const user = await bearerUser(req, deps.verify)
        const { name, members } = parseWith(createBody, await readJsonBody(req, deps.maxBodyBytes), 'body')
        const room = await deps.rooms.create({ name, createdBy: user, members })
        sendJson(res, 201, { room })
      },
    },
    {
      method: 'GET',
      path: /^\/api\/rooms$/,
      async handle({ req, res }) {
        const user = await bearerUser(req, deps.verify)
        sendJson(res, 200, { rooms: await deps.rooms.listFor(user) })
      },
    },
  ]
}
