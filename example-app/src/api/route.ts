import type { IncomingMessage, ServerResponse } from 'node:http'

/** What a route handler gets. */
export interface RouteContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** The request URL (path and query). */
  readonly url: URL
  /** The capture groups of the route's `path`, still percent-encoded. */
  readonly params: readonly string[]
}

/**
 * One HTTP route: a method, a pattern matched against the whole (percent-encoded) path, and a
 * handler that writes the response or throws (an `HttpError` / `SwitchboardError` becomes a
 * coded JSON error, anything else `500 INTERNAL`).
 */
export interface Route {
  readonly method: 'GET' | 'POST'
  readonly path: RegExp
  handle(context: RouteContext): Promise<void>
}
