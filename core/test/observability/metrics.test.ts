import t from 'tap'
import { room } from '../channels/fixtures/test-channels.js'
import { startTestServer } from '../../src/testing/test-server.js'

/** The value of one sample line of the Prometheus text, or undefined when absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

t.test('metrics › a scrape counts connections, frames by type, publishes by namespace and delivery latency', async t => {
  const server = await startTestServer({ channels: [room] })
  t.teardown(() => server.close())
  const [reader, writer] = [await server.connect('reader'), await server.connect('writer')]
  await reader.request({ type: 'subscribe', channel: 'room:metrics' })
  await writer.request({ type: 'subscribe', channel: 'room:metrics' })
  for (let i = 0; i < 3; i++) await writer.request({ type: 'publish', channel: 'room:metrics', data: { text: `m${i}` } })
  await reader.next(f => f.type === 'message' && f.seq === 3, 'third message', true)
  await writer.next(f => f.type === 'message' && f.seq === 3, 'third message', true)
  writer.sendRaw('not json')
  await writer.next('error')

  const text = await server.switchboard.metrics.registry.metrics()
  t.equal(sample(text, 'switchboard_connections'), 2)
  t.equal(sample(text, 'switchboard_frames_in_total{type="connect"}'), 2)
  t.equal(sample(text, 'switchboard_frames_in_total{type="subscribe"}'), 2)
  t.equal(sample(text, 'switchboard_frames_in_total{type="publish"}'), 3)
  t.equal(sample(text, 'switchboard_frames_in_total{type="invalid"}'), 1, 'unreadable frames are counted as invalid')
  t.equal(sample(text, 'switchboard_frames_out_total{type="published"}'), 3)
  t.equal(sample(text, 'switchboard_frames_out_total{type="message"}'), 6, 'three messages to two subscribers')
  t.equal(sample(text, 'switchboard_frames_out_total{type="error"}'), 1)
  t.equal(sample(text, 'switchboard_publishes_total{namespace="room"}'), 3)
  t.equal(sample(text, 'switchboard_delivery_latency_seconds_count'), 3, 'one latency sample per broadcast message')
  t.equal(sample(text, 'switchboard_dispatch_queue_depth'), 0)
  t.equal(sample(text, 'switchboard_internal_errors_total'), 0)
  t.equal(sample(text, 'switchboard_slow_consumer_closes_total'), 0)
  const again = await server.switchboard.metrics.registry.metrics()
  t.equal(sample(again, 'switchboard_frames_in_total{type="publish"}'), 3, 'scraping twice does not double the counts')
})
