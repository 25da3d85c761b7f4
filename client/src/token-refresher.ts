import { SwitchboardClientError } from './errors.js'
import type { ServerFrame } from './frames.js'
import type { GetToken } from './options.js'
import { refreshDelay, tokenExpiry } from './token.js'

/** What a {@link TokenRefresher} needs from its client. */
export interface TokenRefresherDeps {
  readonly getToken: GetToken
  /** See `ClientOptions.tokenRefreshMarginMs`. */
  readonly marginMs: number
  /** Sends `refresh` with `token` on the current connection; resolves with the `refreshed` reply. */
  send(token: string): Promise<ServerFrame>
  /** Reports a failure nobody awaits (`getToken` threw, the server refused the new token). */
  report(error: unknown): void
}

/** How long past `exp` the server waits for a `refresh` before closing with 4001 (its default `tokenGraceMs`). */
const GRACE_MS = 5000

/** Longest delay `setTimeout` keeps (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * Keeps one connection's token fresh (PROTOCOL.md `refresh`): shortly before the token's `exp`
 * (read from the JWT without verifying it) it asks `getToken()` for a new token and sends it;
 * the `refreshed` reply's `exp` schedules the next round. When `getToken()` fails or returns
 * the same token, it asks again every few seconds until the server's grace period after `exp`
 * is over (the server then closes with 4001 and reconnecting asks `getToken()` once more).
 */
export class TokenRefresher {
  private timer: ReturnType<typeof setTimeout> | undefined
  private token: string | undefined
  /** Bumped by start/stop so that a refresh of an earlier connection changes nothing. */
  private generation = 0

  constructor(private readonly deps: TokenRefresherDeps) {}

  /** The token the current connection holds (the one it connected with, or the last refreshed one); undefined between connections. */
  get current(): string | undefined {
    return this.token
  }

  /** A connection opened with `token`: schedule its refresh. */
  start(token: string): void {
    this.stop()
    this.token = token
    this.schedule(tokenExpiry(token))
  }

  /** The server said `TOKEN_EXPIRED`: refresh at once. */
  now(): void {
    if (this.token !== undefined) void this.refresh(this.generation)
  }

  /** The connection ended: forget it and its token (idempotent). */
  stop(): void {
    this.generation += 1
    this.token = undefined
    this.cancel()
  }

  private schedule(exp: number | undefined): void {
    this.cancel()
    if (exp === undefined) return
    const generation = this.generation
    const delay = refreshDelay(exp * 1000, Date.now(), this.deps.marginMs)
    // A token valid for more than ~24.8 days: wait the longest a timer can, then schedule again.
    if (delay > MAX_TIMER_MS) this.timer = setTimeout(() => generation === this.generation && this.schedule(exp), MAX_TIMER_MS)
    else this.timer = setTimeout(() => void this.refresh(generation), delay)
  }

  private async refresh(generation: number): Promise<void> {
    this.cancel()
    const current = this.token
    const expSec = (current === undefined ? undefined : tokenExpiry(current)) ?? 0
    const later = (): void => {
      const left = expSec * 1000 - Date.now()
      if (generation !== this.generation || left <= -GRACE_MS) return
      this.timer = setTimeout(() => void this.refresh(generation), Math.min(5000, Math.max(250, left / 4)))
    }
    let token: string | null | undefined
    try {
      token = await this.deps.getToken()
    } catch (cause) {
      this.deps.report(new SwitchboardClientError('TOKEN_UNAVAILABLE', 'getToken() failed.', { cause }))
    }
    if (generation !== this.generation) return
    if (typeof token !== 'string' || token === '' || token === current) return later()
    try {
      const reply = await this.deps.send(token)
      if (generation !== this.generation) return
      this.token = token
      this.schedule(typeof reply['exp'] === 'number' ? reply['exp'] : tokenExpiry(token))
    } catch (error) {
      if (generation !== this.generation) return
      this.deps.report(error)
      later()
    }
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
