import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Switchboard } from '@switchboard/core'
import type { RouteHandler } from './api/route-handler.js'

/**
 * The app's plain HTTP routes: `GET /healthz` (200 while the process runs) and `GET /readyz`
 * (200 when the node accepts connections and PostgreSQL and Redis answer, else 503 with the
 * failing checks: `{ ready, checks: { accepting, broker, presence, store } }`), then `routes` (the chat API and
 * `/metrics`, app/create-app.ts). Everything else is 404.
 */
export function createHttpHandler(switchboard: Switchboard, routes?: RouteHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true })
    if (req.method === 'GET' && path === '/readyz') {
      void switchboard.readiness().then(readiness => json(res, readiness.ready ? 200 : 503, readiness))
      return
    }
    if (routes?.(req, res)) return
    json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such route.' } })
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body))
}
