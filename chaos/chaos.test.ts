import t from 'tap'
import { PLANS, runChaos } from './chaos-run.js'
import { formatReport, passed } from './verify.js'

// The short chaos run inside `npm test` (`npm run chaos` runs the full one): three example-app
// nodes behind a balancer, SDK clients over rooms and DMs, a node SIGKILLed and restarted, Redis
// restarted empty, PostgreSQL restarted, client sockets cut.

// Starting four services and three nodes takes a while on a loaded 2-core machine.
t.setTimeout(400_000)

t.test('chaos › short run: nothing lost, duplicated or out of order; every DM acked or dead-lettered; no crash', async t => {
  const lines: string[] = []
  const report = await runChaos(PLANS.short, line => void lines.push(line))
  t.comment(formatReport(report))
  t.ok(report.messages >= PLANS.short.users * PLANS.short.messagesPerUser * 0.95, `${report.messages} messages acknowledged`)
  t.equal(report.faults['node killed'], 1)
  t.equal(report.faults['redis restarted'], 1)
  t.equal(report.faults['postgres restarted'], 1)
  t.ok(report.faults['sockets dropped']! > 0, 'client sockets were cut')
  t.equal(report.lost, 0, 'lost')
  t.equal(report.duplicated, 0, 'duplicated')
  t.equal(report.outOfOrder, 0, 'out of order')
  t.equal(report.atLeastOnce.neither, 0, 'every DM message acked or dead-lettered')
  t.same(report.crashes, [], 'no process crashed')
  t.ok(passed(report), lines.join('\n'))
})
