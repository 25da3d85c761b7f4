import t from 'tap'
import { startTestServer } from '../../src/testing/test-server.js'
import { RawWebSocket } from './fixtures/raw-websocket.js'

/**
 * Origin look-alikes a browser can actually send, beyond those in
 * core/test/transport/upgrade.test.ts (`https://evil.com`, `https://app.example.evil.com`,
 * `https://app.example.com.evil.com`, another scheme, another port, `null`): each gets 403
 * and no WebSocket. Only browsers send `Origin`, so these are the cases that matter
 * (cross-site WebSocket hijacking); a non-browser client may omit it and is allowed.
 */

t.test('origins › look-alikes of an allowed origin get 403 and allocate no WebSocket', async t => {
  const server = await startTestServer({ allowedOrigins: ['https://app.example.com'] })
  t.teardown(() => server.close())
  const refused = [
    'https://evil.app.example.com',
    'https://app-example.com',
    'https://app.example.co',
    'https://app.example.com.',
    'https://xn--pp-8kc.example.com', // аpp.example.com with a Cyrillic а, as a browser sends it (punycode)
    'https://аpp.example.com',
    'https://app.example.com\r\nOrigin: https://evil.com', // two Origin headers: Node joins them
    'https://evil.com\r\nOrigin: https://app.example.com',
    'https://app.example.com https://evil.com',
    'http://app.example.com:443',
    'https://app.example.com:80',
    '',
  ]
  for (const origin of refused) {
    const raw = await RawWebSocket.open(server.port, { headers: { Origin: origin } })
    t.equal(raw.status, 403, `${JSON.stringify(origin)} → ${raw.status}`)
    raw.destroy()
  }
  t.equal(server.switchboard.connectionCount, 0)
  t.test('control: the allowed origin, also with its default port spelled out', async t => {
    for (const origin of ['https://app.example.com', 'https://app.example.com:443']) {
      const raw = await RawWebSocket.open(server.port, { headers: { Origin: origin } })
      t.equal(raw.status, 101, origin)
      raw.destroy()
    }
  })
})
