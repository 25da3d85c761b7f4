import t from 'tap'
import { request } from 'node:http'
import { TestClient } from '../../src/testing/test-client.js'
import { startTestServer } from '../../src/testing/test-server.js'

/** Opens and expects a refusal; resolves with the HTTP status and headers. */
async function refused(url: string, options: Parameters<typeof TestClient.open>[1] = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  try {
    const client = await TestClient.open(url, options)
    await client.close()
  } catch (err) {
    const e = err as { status?: number; headers?: Record<string, unknown> }
    if (e.status) return { status: e.status, headers: e.headers ?? {} }
    throw err
  }
  throw new Error('the upgrade was accepted')
}

t.test('upgrade › Origin allow-list', async t => {
  const server = await startTestServer({ allowedOrigins: ['https://app.example.com'] })
  t.teardown(() => server.close())
  t.test('allows a listed origin', async t => {
    const client = await TestClient.open(server.url, { origin: 'https://app.example.com' })
    t.equal(client.socket.protocol, 'switchboard.v1.json')
    await client.close()
  })
  t.test('compares origins without case or trailing slash differences', async t => {
    const client = await TestClient.open(server.url, { origin: 'HTTPS://App.Example.com' })
    await client.close()
    t.pass()
  })
  t.test('allows a request without Origin (non-browser client)', async t => {
    const client = await TestClient.open(server.url)
    await client.close()
    t.pass()
  })
  for (const origin of [
    'https://evil.com',
    'https://app.example.evil.com',
    'https://app.example.com.evil.com',
    'http://app.example.com',
    'https://app.example.com:8443',
    'null',
  ]) {
    t.test(`refuses ${origin} with 403 and allocates no WebSocket`, async t => {
      const { status } = await refused(server.url, { origin })
      t.equal(status, 403)
      t.equal(server.switchboard.connectionCount, 0)
    })
  }
})

t.test('upgrade › capacity: maxConnections answers 503 with Retry-After', async t => {
  const server = await startTestServer({ maxConnections: 2, retryAfterSec: 7 })
  t.teardown(() => server.close())
  const a = await TestClient.open(server.url)
  const b = await TestClient.open(server.url)
  const { status, headers } = await refused(server.url)
  t.equal(status, 503)
  t.equal(headers['retry-after'], '7')
  t.equal(server.switchboard.connectionCount, 2)
  await a.close()
  await t.resolves(async () => {
    // The freed slot is usable again once the server has seen the close.
    while (server.switchboard.connectionCount > 1) await new Promise(resolve => setImmediate(resolve))
    const c = await TestClient.open(server.url)
    await c.close()
  })
  await b.close()
})

t.test('upgrade › per-IP handshake rate limit answers 429', async t => {
  const server = await startTestServer({ handshakeRatePerSecond: 1, handshakeBurst: 3 })
  t.teardown(() => server.close())
  const clients = [await TestClient.open(server.url), await TestClient.open(server.url), await TestClient.open(server.url)]
  const { status, headers } = await refused(server.url)
  t.equal(status, 429)
  t.equal(headers['retry-after'], '1')
  t.equal(server.switchboard.connectionCount, 3)
  for (const c of clients) await c.close()
})

t.test('upgrade › subprotocol negotiation', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  t.test('no offer selects JSON', async t => {
    const client = await TestClient.open(server.url, { protocol: 'none' })
    t.equal(client.socket.protocol, '')
    const token = await server.token('alice')
    t.match(await client.request({ type: 'connect', token }), { type: 'connected', user: 'alice' })
    await client.close()
  })
  t.test('msgpack is spoken in binary frames', async t => {
    const client = await TestClient.open(server.url, { protocol: 'msgpack' })
    t.equal(client.socket.protocol, 'switchboard.v1.msgpack')
    const token = await server.token('bob')
    t.match(await client.request({ type: 'connect', token }), { type: 'connected', user: 'bob' })
    t.match(await client.request({ type: 'ping' }), { type: 'pong' })
    await client.close()
  })
  t.test('a client offering both gets one of ours', async t => {
    const client = await TestClient.open(server.url, { offer: ['switchboard.v1.msgpack', 'switchboard.v1.json'] })
    t.ok(['switchboard.v1.msgpack', 'switchboard.v1.json'].includes(client.socket.protocol))
    await client.close()
  })
  t.test('a client offering only unknown protocols gets 400', async t => {
    const { status } = await refused(server.url, { offer: ['mqtt', 'switchboard.v2.json'] })
    t.equal(status, 400)
  })
})

t.test('upgrade › other paths get 404 and plain HTTP requests are not upgraded', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const { status } = await refused(`ws://127.0.0.1:${server.port}/elsewhere`)
  t.equal(status, 404)
  const plain = await new Promise<number>((resolve, reject) => {
    request(`http://127.0.0.1:${server.port}/ws`, res => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
      .on('error', reject)
      .end()
  })
  t.equal(plain, 404)
})

t.test('upgrade › trustProxy reads the client IP from X-Forwarded-For, else ignores the header', async t => {
  const { clientIp } = await import('../../src/transport/upgrade-guard.js')
  const request = (xff: string | undefined) =>
    ({ socket: { remoteAddress: '10.0.0.1' }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as never
  t.equal(clientIp(request('1.2.3.4'), 0), '10.0.0.1', 'not trusted by default: a client could forge it')
  t.equal(clientIp(request('6.6.6.6, 1.2.3.4'), 1), '1.2.3.4', 'one proxy: the address it appended')
  t.equal(clientIp(request('1.2.3.4, 5.6.7.8'), 2), '1.2.3.4', 'two proxies: two from the end')
  t.equal(clientIp(request(undefined), 1), '10.0.0.1', 'no header: the socket address')
  // Behind one proxy the per-IP handshake limit counts each forwarded client apart.
  const server = await startTestServer({ trustProxy: 1, handshakeRatePerSecond: 1, handshakeBurst: 1 })
  t.teardown(() => server.close())
  const open = (ip: string) =>
    TestClient.open(server.url, { ws: { headers: { 'x-forwarded-for': ip } } }).then(
      client => (void client.terminate(), 101),
      (err: { status?: number }) => err.status,
    )
  t.equal(await open('1.1.1.1'), 101)
  t.equal(await open('2.2.2.2'), 101, 'another client behind the same proxy is not limited')
  t.equal(await open('1.1.1.1'), 429, 'the same client is')
})
