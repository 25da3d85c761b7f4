import { tokenExpiry } from '@switchboard/client'
import { devToken } from './api.js'

/** Who is logged in, in this tab. */
export interface Session {
  readonly user: string
  token: string
}

/** The sessionStorage key: per tab, so two tabs can be two users. */
const KEY = 'switchboard.session'

/** Tokens this close to their expiry (ms) are replaced before use. */
const RENEW_MARGIN_MS = 60_000

/** The tab's session, unless there is none or its token has expired. */
export function loadSession(): Session | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Partial<Session> | null
    if (typeof saved?.user !== 'string' || typeof saved.token !== 'string') return undefined
    const exp = tokenExpiry(saved.token)
    if (exp !== undefined && exp * 1000 <= Date.now()) return undefined
    return { user: saved.user, token: saved.token }
  } catch {
    return undefined
  }
}

/** Logs in as `user` with a development token and keeps the session in this tab. @throws ApiError */
export async function logIn(user: string): Promise<Session> {
  const { token } = await devToken(user)
  const session: Session = { user, token }
  sessionStorage.setItem(KEY, JSON.stringify(session))
  return session
}

/** Forgets the tab's session. */
export function logOut(): void {
  sessionStorage.removeItem(KEY)
}

/**
 * The session's token, renewed (a new development token for the same user) when it expires
 * within a minute: the SDK calls this before each connection and before the token's `exp`.
 * @throws ApiError when a renewal fails (the SDK retries with backoff).
 */
export async function currentToken(session: Session): Promise<string> {
  const exp = tokenExpiry(session.token)
  if (exp !== undefined && exp * 1000 - Date.now() < RENEW_MARGIN_MS) {
    const renewed = await logIn(session.user)
    session.token = renewed.token
  }
  return session.token
}
