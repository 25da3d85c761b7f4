import { MemoryMessageStore } from '@switchboard/core'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { chromium, type Browser, type Page } from 'playwright-core'
import t from 'tap'
import { buildClientBundle } from '../scripts/build.mjs'
import { createClient } from '../src/node.js'
import { startNode, survivingStore, token, type TestNode } from './helpers/node.js'
import { connected, range } from './helpers/wait.js'

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Switchboard SDK test page</title>
<script type="module">
  import { createClient } from '/switchboard-client.js'
  const received = []
  const states = []
  let waiters = []
  window.sb = {
    received,
    states,
    start(url) {
      const client = createClient({
        url,
        // A fresh token from the page's own server, as a real app would fetch one.
        getToken: () => fetch('/token?user=page').then(res => res.text()),
        reconnect: { minDelayMs: 30000, maxDelayMs: 30000 },
      })
      window.client = client
      client.on('state', change => states.push(change.state + ':' + change.reason))
      const room = client.channel('room:browser')
      room.on('message', message => {
        received.push({ seq: message.seq, text: message.data.text })
        waiters = waiters.filter(w => (received.length >= w.count ? (w.resolve(), false) : true))
      })
      client.connect()
      return room.subscribe().then(e => e.recovered)
    },
    publish: text => window.client.channel('room:browser').publish({ text }),
    waitFor: count => received.length >= count ? Promise.resolve() : new Promise(resolve => waiters.push({ count, resolve })),
    nextState: state => new Promise(resolve => { const off = window.client.on('state', c => { if (c.state === state) { off(); resolve(c.reason) } }) }),
  }
  document.title = 'ready'
</script>`

t.test('browser › the bundle in headless Chromium connects, subscribes, publishes and survives a node restart', async t => {
  const { outfile, bytes, gzipBytes, inputs } = await buildClientBundle()
  const bundle = readFileSync(outfile, 'utf8')
  t.ok(inputs.length > 0 && inputs.every(input => input.startsWith('src/') && input !== 'src/node.ts'), `only the SDK’s browser sources are bundled (${inputs.length} files)`)
  t.notOk(/\brequire\(|(^|[;}])\s*import\s*[{*("']/.test(bundle), 'the bundle imports nothing (no ws, no node: modules)')
  t.ok(gzipBytes < 12_000, `small: ${bytes} bytes minified, ${gzipBytes} gzipped`)

  const store = survivingStore(new MemoryMessageStore())
  t.teardown(() => store.closeForReal())
  let node: TestNode = await startNode({ store })
  const port = node.port
  t.teardown(() => node.close())

  const web: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
    else if (url.pathname === '/switchboard-client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
    else if (url.pathname === '/token') res.writeHead(200, { 'content-type': 'text/plain' }).end(await token(url.searchParams.get('user') ?? 'page'))
    else res.writeHead(404).end()
  })
  await new Promise<void>(resolve => web.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => web.close(resolve)))
  const webPort = (web.address() as { port: number }).port

  const browser: Browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  const page: Page = await browser.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', error => pageErrors.push(error.message))
  await page.goto(`http://127.0.0.1:${webPort}/`)
  await page.waitForFunction(() => document.title === 'ready')

  // Connect and subscribe from the page; publish from both sides.
  t.equal(await page.evaluate(url => (window as any).sb.start(url), node.url), false, 'first subscribe: nothing to recover')
  const bob = createClient({ url: node.url, getToken: () => token('bob'), reconnect: { minDelayMs: 20, maxDelayMs: 100 } })
  t.teardown(() => bob.close())
  bob.connect()
  const fromPage = await page.evaluate(() => Promise.all([1, 2, 3].map(i => (window as any).sb.publish(`page ${i}`))))
  t.same(fromPage.map((r: { seq: number }) => r.seq), [1, 2, 3], 'publishes from the page resolve with their seqs')
  for (const i of range(3)) await bob.channel('room:browser').publish({ text: `bob ${i}` })
  await page.evaluate(() => (window as any).sb.waitFor(6))

  // Restart the node. The page waits out a 30 s backoff unless the browser says it is online again.
  // Listen in the page first (evaluate is asynchronous), then act.
  await page.evaluate(() => void ((window as any).down = (window as any).sb.nextState('reconnecting')))
  await node.close()
  t.equal(await page.evaluate(() => (window as any).down), 'server-going-away')
  // While the node is down: the page's publishes queue, bob's too.
  const queued = page.evaluate(() => Promise.all([4, 5].map(i => (window as any).sb.publish(`page ${i}`))))
  const bobQueued = Promise.all([4, 5].map(i => bob.channel('room:browser').publish({ text: `bob ${i}` })))
  node = await startNode({ store, port })
  await page.evaluate(() => void ((window as any).up = (window as any).sb.nextState('connected')))
  await page.evaluate(() => window.dispatchEvent(new Event('online')))
  await page.evaluate(() => (window as any).up)
  t.same((await queued).map((r: { seq: number }) => r.seq).length, 2, 'the page’s queued publishes went out after the restart')
  await bobQueued
  await connected(bob)
  await page.evaluate(() => (window as any).sb.waitFor(10))

  const { received, states } = await page.evaluate(() => ({ received: (window as any).sb.received, states: (window as any).sb.states }))
  t.same(received.map((m: { seq: number }) => m.seq), range(10), 'every message once, in order, across the restart')
  t.same(
    received.map((m: { text: string }) => m.text).sort(),
    ['bob 1', 'bob 2', 'bob 3', 'bob 4', 'bob 5', 'page 1', 'page 2', 'page 3', 'page 4', 'page 5'],
  )
  t.ok(states.includes('connecting:online'), `the online event retried at once (${states.join(', ')})`)
  t.same(pageErrors, [], 'no errors in the page')
  await page.evaluate(() => (window as any).client.close())
})
