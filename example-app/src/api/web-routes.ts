import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pageBundle, type BuiltFile } from './page-bundle.js'
import type { Route } from './route.js'

/** The chat page's static files (`index.html`, `style.css`) and its script's sources (`src/`). */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url))

/**
 * What the page may load: its own script, style and API, and WebSockets to its own origin
 * (CSP level 3 `'self'` covers `ws:`/`wss:` of the same host). The favicon is an empty `data:` URL.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const COMMON_HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

/** How the page is served. */
export interface WebRouteOptions {
  /** Build the page script again when its sources change (development). Default false: built once per process. */
  readonly watch?: boolean
}

/**
 * The chat page: `GET /` (web/index.html), `GET /style.css`, and `GET /app.js` with
 * `GET /app.js.map`: the page script (web/src/main.ts with the client SDK), bundled by esbuild in
 * memory on first use (see page-bundle.ts). Requesting `/` starts that build, so the script is
 * usually ready when the browser asks for it. Every answer carries an `ETag` and
 * `Cache-Control: no-cache` (browsers revalidate; unchanged files are `304`); the page has a
 * strict `Content-Security-Policy`.
 */
export function webRoutes(options: WebRouteOptions = {}): Route[] {
  const bundle = (): ReturnType<typeof pageBundle> => pageBundle({ watch: options.watch ?? false })
  return [
    {
      method: 'GET',
      path: /^\/(?:index\.html)?$/,
      async handle({ req, res }) {
        bundle().catch(() => {})
        send(req, res, await staticFile('index.html'), 'text/html; charset=utf-8', { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY' })
      },
    },
    {
      method: 'GET',
      path: /^\/style\.css$/,
      async handle({ req, res }) {
        send(req, res, await staticFile('style.css'), 'text/css; charset=utf-8')
      },
    },
    {
      method: 'GET',
      path: /^\/app\.js$/,
      async handle({ req, res }) {
        send(req, res, (await bundle()).js, 'text/javascript; charset=utf-8')
      },
    },
    {
      method: 'GET',
      path: /^\/app\.js\.map$/,
      async handle({ req, res }) {
        send(req, res, (await bundle()).map, 'application/json; charset=utf-8')
      },
    },
  ]
}

/** A file of web/, read on each request (they are small, and edits show at once). */
async function staticFile(name: string): Promise<BuiltFile> {
  const body = await readFile(join(WEB_DIR, name))
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }
}

function send(req: IncomingMessage, res: ServerResponse, file: BuiltFile, type: string, headers: Record<string, string> = {}): void {
  const base = { ...COMMON_HEADERS, ETag: file.etag, ...headers }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, base).end()
    return
  }
  res.writeHead(200, { ...base, 'Content-Type': type, 'Content-Length': file.body.length }).end(file.body)
}
