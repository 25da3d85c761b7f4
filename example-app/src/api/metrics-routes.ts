import type { Switchboard } from '@switchboard/core'
import type { Route } from './route.js'

/**
 * `GET /metrics` → the node's Prometheus metrics in the text exposition format
 * (`switchboard.metrics`). Unauthenticated, as Prometheus scrapes expect: keep it off the
 * public side of the proxy (deploy/nginx.conf refuses it).
 */
export function metricsRoutes(switchboard: Pick<Switchboard, 'metrics'>): Route[] {
  return [
    {
      method: 'GET',
      path: /^\/metrics$/,
      async handle({ res }) {
        const { registry } = switchboard.metrics
        const text = await registry.metrics()
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).end(text)
      },
    },
  ]
}
