import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { belongsInHistory, historyEntry, readHistory, withEntry, writeHistory, type HistoryEntry } from '../report/history.js'
import { renderMarkdown } from '../report/markdown.js'
import type { BenchResults, Summary } from '../report/results.js'
import { checkTargets } from '../report/summary.js'

const SCENARIOS = ['fanout', 'roundtrip', 'memory', 'catchup', 'maxconn', 'twonode']

/** A summary meeting every target but the persisted rate. */
const summary: Summary = {
  fanout_cpu_per_delivery_vs_ws: 1.05,
  fanout_cpu_per_delivery_vs_socketio: 0.6,
  fanout_p99_vs_ws: 1.1,
  memory_per_conn_vs_ws: 1.3,
  memory_per_conn_vs_socketio: 0.5,
  persisted_publishes_per_s: 15_000,
  persisted_p99_ms: 30,
  persisted_vs_pg_floor: 0.55,
  catchup_msgs_per_s: 150_000,
  max_connections: 19_974,
}

/** Results of a run with only what the history and the docs' header and summary read. */
function results(generatedAt: string, overrides: Partial<BenchResults> = {}): BenchResults {
  return {
    generatedAt,
    commit: 'abc1234',
    mode: 'full',
    scenarios: SCENARIOS,
    durationSec: 900,
    machine: { cpuModel: 'AMD EPYC', cores: 2, memoryGiB: 23.6, kernel: '6.18', loadAverageAtStart: 0.5, node: 'v20.20.2', versions: { 'socket.io': '4.8.4' }, settings: {} },
    errors: {},
    steal: { run: 1.4, byScenario: {} },
    fanout: {
      byRoomSize: {
        '5000': { ws: { roomSize: 5000, steps: [{ offered: 10_000, serverCpuPerDeliveryUs: 13.5 }], highestKeptUp: 10_000, connectMs: 1 } },
        '1000': { ws: { roomSize: 1000, steps: [{ offered: 10_000, serverCpuPerDeliveryUs: 10.33 }, { offered: 20_000, serverCpuPerDeliveryUs: 9.9 }], highestKeptUp: 20_000, connectMs: 1 } },
      },
      comparison: [],
    } as unknown as BenchResults['fanout'],
    summary,
    targets: checkTargets(summary),
    ...overrides,
  }
}

t.test('a full run of every scenario goes into the history; quick and partial runs do not', async t => {
  t.ok(belongsInHistory(results('2026-11-26T10:00:00.000Z'), SCENARIOS))
  t.notOk(belongsInHistory(results('2026-11-26T10:00:00.000Z', { mode: 'quick' }), SCENARIOS))
  t.notOk(belongsInHistory(results('2026-11-26T10:00:00.000Z', { scenarios: ['fanout'] }), SCENARIOS))
})

t.test('an entry keeps the summary, the machine, the steal and the floor per delivery of the smallest room', async t => {
  const entry = historyEntry(results('2026-11-26T10:00:00.000Z'))
  t.same(entry, {
    generatedAt: '2026-11-26T10:00:00.000Z',
    commit: 'abc1234',
    durationSec: 900,
    machine: { cpuModel: 'AMD EPYC', cores: 2, memoryGiB: 23.6, node: 'v20.20.2', loadAverageAtStart: 0.5 },
    steal: 1.4,
    wsCpuPerDeliveryUs: 10.33,
    summary,
  })
  const bare = historyEntry(results('2026-11-26T10:00:00.000Z', { steal: undefined, fanout: undefined, commit: undefined }))
  t.notOk('steal' in bare || 'wsCpuPerDeliveryUs' in bare || 'commit' in bare, 'what was not measured is left out')
})

t.test('runs are kept oldest first, a run written again replaces itself, and the file round-trips', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-bench-history-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'history.json')
  t.same(readHistory(path), [], 'no file: no runs')
  const later = historyEntry(results('2026-11-26T12:00:00.000Z'))
  const earlier = historyEntry(results('2026-11-26T09:00:00.000Z'))
  let history = withEntry(withEntry([], later), earlier)
  t.same(history.map(e => e.generatedAt), ['2026-11-26T09:00:00.000Z', '2026-11-26T12:00:00.000Z'])
  history = withEntry(history, { ...later, durationSec: 950 })
  t.equal(history.length, 2, 'the same run is not added twice')
  t.equal(history[1]!.durationSec, 950)
  writeHistory(path, history)
  t.same(readHistory(path), history)
})

t.test('the docs list every full run newest first, bold where a target was missed, and count the runs that met each target', async t => {
  const met: HistoryEntry = { ...historyEntry(results('2026-11-26T09:00:00.000Z')), summary: { ...summary, persisted_publishes_per_s: 25_000 } }
  const missed = historyEntry(results('2026-11-26T12:00:00.000Z', { commit: 'def5678' }))
  const old: HistoryEntry = { ...historyEntry(results('2026-11-26T01:00:00.000Z')), commit: undefined, committedIn: '0123abc' }
  const docs = renderMarkdown(results('2026-11-26T12:00:00.000Z'), [old, met, missed])
  const section = docs.slice(docs.indexOf('## Full runs so far'), docs.indexOf('## 1. Fan-out'))
  const rows = section.split('\n').filter(line => line.startsWith('| 2026') || line.startsWith('| Target met in'))
  t.equal(rows.length, 4)
  t.match(rows[0], /^\| 2026-11-26 12:00 \| `def5678` \| AMD EPYC, 2 cores \| 1\.4% \| 10\.33 \| 1\.05× \|/)
  t.match(rows[0], /\| \*\*15,000\*\* \|/, 'the missed persisted rate is bold')
  t.match(rows[1], /\| 25,000 \|/, 'the met one is not')
  t.match(rows[2], /\(results in `0123abc`\)/)
  t.match(rows[3], /^\| Target met in \|.*\| 3 of 3 \|.* \| 1 of 3 \|/)
  t.equal(renderMarkdown(results('2026-11-26T12:00:00.000Z')).includes('## Full runs so far'), false, 'no history: no section')
})
