import type { ServerOptions } from 'node:http'
import type { SwitchboardOptions } from '../options.js'

/**
 * Options for the HTTP server a node listens on (its own in `listen()`, or yours passed to
 * `attach()`): a request (upgrade included) must arrive whole within `authTimeoutMs` (at least
 * 1 s), checked every second. Node's defaults (60 s for headers, checked every 30 s) let a
 * client that dribbles its handshake hold a socket for about 90 s, outside the per-IP handshake
 * limit and `maxConnections`.
 */
export function httpServerOptions(options: Pick<SwitchboardOptions, 'authTimeoutMs'>): ServerOptions {
  const timeoutMs = Math.max(1000, options.authTimeoutMs)
  return { headersTimeout: timeoutMs, requestTimeout: timeoutMs, connectionsCheckingInterval: 1000 }
}
