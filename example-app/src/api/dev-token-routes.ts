import { signDevToken } from '@switchboard/core'
import { z } from 'zod'
import { userNameSchema } from '../rooms/user-names.js'
import { parseWith, readJsonBody, sendJson } from './http-kit.js'
import type { Route } from './route.js'

/** How development tokens are made. */
export interface DevTokenRouteOptions {
  /** The HS256 secret the node verifies tokens with. */
  readonly secret: string
  /** Token lifetime (s). Default 43200 (12 hours). */
  readonly expiresInSec?: number
  /** Largest request body (bytes). */
  readonly maxBodyBytes: number
}

const body = z.strictObject({ user: userNameSchema })

/**
 * `POST /api/dev/token` `{ "user": "alice" }` → `200 { token, user, exp }`: a token for any user
 * name (rooms/user-names.ts), for development and the chat page's log-in. The app only serves
 * it outside production (elsewhere the path is a plain 404).
 */
export function devTokenRoutes(options: DevTokenRouteOptions): Route[] {
  const expiresInSec = options.expiresInSec ?? 12 * 3600
  return [
    {
      method: 'POST',
      path: /^\/api\/dev\/token$/,
      async handle({ req, res }) {
        const { user } = parseWith(body, await readJsonBody(req, options.maxBodyBytes), 'body')
        const token = await signDevToken(options.secret, user, { expiresInSec })
        sendJson(res, 200, { token, user, exp: Math.floor(Date.now() / 1000) + expiresInSec })
      },
    },
  ]
}
