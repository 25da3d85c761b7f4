import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Switchboard } from '@switchboard/core'

/**
 * The app's plain HTTP routes: `GET /healthz` (200 while the process runs) and `GET /readyz`
 * (200 while the node accepts connections, 503 while draining). Everything else is 404.
 */
export function createHttpHandler(switchboard: Switchboard): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true })
    if (req.method === 'GET' && path === '/readyz') {
      return switchboard.draining ? json(res, 503, { ready: false, reason: 'draining' }) : json(res, 200, { ready: true })
    }
    json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such route.' } })
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body))
}
