import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@switchboard/core'
import { HttpError, errorResponse } from './http-error.js'
import { sendJson } from './http-kit.js'
import type { Route } from './route.js'

/**
 * Handles a request when one of its routes owns the path: returns `true` and answers (later),
 * or `false` and leaves the request to the caller (its 404).
 */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * Serves `routes`. A path a route owns with another method gets `405` (`BAD_FRAME`, with
 * `Allow`). Errors become `{ error: { code, message, details? } }` with their status; unexpected
 * ones are logged and answered `500 INTERNAL` without internals. A body past its limit (413)
 * also closes the connection, so its rest is never read.
 */
export function createRouteHandler(routes: readonly Route[], logger: Logger): RouteHandler {
  return (req, res) => {
    let url: URL
    try {
      // Origin-form targets only (`/path?query`); anything else is left to the caller's 404.
      url = new URL(`http://localhost${req.url?.startsWith('/') ? req.url : '/'}`)
    } catch {
      return false
    }
    const owners = routes.filter(route => route.path.test(url.pathname))
    if (owners.length === 0) return false
    void serve(owners, req, res, url, logger)
    return true
  }
}

async function serve(owners: readonly Route[], req: IncomingMessage, res: ServerResponse, url: URL, logger: Logger): Promise<void> {
  try {
    const route = owners.find(owner => owner.method === req.method)
    if (!route) {
      const allow = [...new Set(owners.map(owner => owner.method))].join(', ')
      throw new HttpError(405, 'BAD_FRAME', `Use ${allow} on ${url.pathname}.`, { headers: { Allow: allow } })
    }
    await route.handle({ req, res, url, params: route.path.exec(url.pathname)!.slice(1) })
  } catch (error) {
    const { status, headers, body, internal } = errorResponse(error)
    if (internal) logger.error({ err: error, method: req.method, path: url.pathname }, 'HTTP request failed')
    if (res.headersSent) {
      res.destroy()
      return
    }
    sendJson(res, status, body, status === 413 ? { ...headers, Connection: 'close' } : headers)
  }
}
