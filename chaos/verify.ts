import pg from 'pg'
import type { ChaosUser } from './chaos-user.js'

/** What a chaos run found. Lost, duplicated and out-of-order must be 0. */
export interface ChaosReport {
  /** Messages published and acknowledged with `published`. */
  messages: number
  /** Messages handed to application handlers, all users. */
  deliveries: number
  /** Faults injected, by kind. */
  faults: Record<string, number>
  /** (user, message) pairs owed to a subscriber and never handed to its handler. */
  lost: number
  /** Messages handed to a handler more than once. */
  duplicated: number
  /** Messages handed to a handler after a later seq of the same channel. */
  outOfOrder: number
  /** Resubscribes the server could not recover (`recovered: false`). */
  unrecovered: number
  /** Publishes that failed for good after the SDK's retries (not acknowledged, so not owed). */
  failedPublishes: number
  /** Errors SDK clients reported on their `error` event (retried by the SDK). */
  clientErrors: number
  /** At-least-once (DM) messages: acked by the recipient, dead-lettered, or neither (must be 0). */
  atLeastOnce: { messages: number; acked: number; deadLettered: number; neither: number }
  /** Processes that died without being killed by the run. */
  crashes: string[]
  /** Wall time of the run (s). */
  seconds: number
}

/** How long the run waits for deliveries and acks to settle after publishing (ms). */
const SETTLE_MS = 90_000

/** Checks every user's deliveries against what was published, and the DM acks in PostgreSQL. */
export async function verify(input: {
  users: ChaosUser[]
  postgresUrl: string
  faults: Record<string, number>
  crashes: string[]
  started: number
  log: (line: string) => void
}): Promise<ChaosReport> {
  const { users } = input
  const published = new Map<string, Map<number, string>>()
  for (const user of users) {
    for (const message of user.published) {
      let seqs = published.get(message.channel)
      if (!seqs) published.set(message.channel, (seqs = new Map()))
      seqs.set(message.seq, user.name)
    }
  }
  const latest = new Map([...published].map(([channel, seqs]) => [channel, Math.max(...seqs.keys())]))

  const deadline = Date.now() + SETTLE_MS
  await Promise.all(users.flatMap(user => [...user.channels.keys()].map(channel => user.until(channel, latest.get(channel) ?? 0, deadline))))
  const unsettled = users.flatMap(user =>
    [...user.channels].flatMap(([channel, record]) => {
      const last = record.delivered[record.delivered.length - 1] ?? record.firstSeq ?? 0
      const want = latest.get(channel) ?? 0
      const subscription = user.client.channel(channel)
      const wire = user.wire.get(channel)
      const detail = `client ${user.client.state}, subscription ${subscription.state}, ${record.delivered.length} delivered, errors [${record.errors.join(', ')}], wire ${wire?.frames ?? 0} frames up to seq ${wire?.maxSeq ?? 0}, node ${user.client.connection?.node}`
      return last >= want ? [] : [`${user.name} ${channel}: has ${last} of ${want} (${detail})`]
    }),
  )
  input.log(`deliveries settled after ${((Date.now() - input.started) / 1000).toFixed(1)} s; ${unsettled.length} subscriptions short`)
  for (const line of unsettled.slice(0, 10)) input.log(`  short: ${line}`)

  let lost = 0
  let duplicated = 0
  let outOfOrder = 0
  let unrecovered = 0
  let deliveries = 0
  for (const user of users) {
    for (const [channel, record] of user.channels) {
      deliveries += record.delivered.length
      unrecovered += record.unrecovered
      const seen = new Set<number>()
      let highest = 0
      for (const seq of record.delivered) {
        if (seen.has(seq)) duplicated += 1
        else if (seq < highest) outOfOrder += 1
        seen.add(seq)
        highest = Math.max(highest, seq)
      }
      for (const seq of published.get(channel)?.keys() ?? []) {
        if (seq > (record.firstSeq ?? 0) && !seen.has(seq)) lost += 1
      }
    }
  }

  const atLeastOnce = await checkAcks(input.postgresUrl, users, deadline)
  input.log(`acks checked after ${((Date.now() - input.started) / 1000).toFixed(1)} s`)
  const report: ChaosReport = {
    messages: [...published.values()].reduce((n, seqs) => n + seqs.size, 0),
    deliveries,
    faults: input.faults,
    lost,
    duplicated,
    outOfOrder,
    unrecovered,
    failedPublishes: users.reduce((n, user) => n + user.failedPublishes, 0),
    clientErrors: users.reduce((n, user) => n + user.clientErrors, 0),
    atLeastOnce,
    crashes: [...input.crashes],
    seconds: Math.round((Date.now() - input.started) / 1000),
  }
  return report
}

/** For each DM message, the recipient's acked cursor reaches it or a dead letter names it; waits for acks in flight. */
async function checkAcks(postgresUrl: string, users: ChaosUser[], deadline: number): Promise<ChaosReport['atLeastOnce']> {
  const owed: { channel: string; seq: number; recipient: string }[] = []
  for (const user of users) {
    for (const message of user.published) {
      if (!message.channel.startsWith('dm:')) continue
      const [, a, b] = message.channel.split(':')
      owed.push({ channel: message.channel, seq: message.seq, recipient: a === user.name ? b! : a! })
    }
  }
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    for (;;) {
      const cursors = new Map<string, number>()
      for (const row of (await client.query('SELECT channel, user_id, seq FROM cursors')).rows as { channel: string; user_id: string; seq: string }[]) {
        cursors.set(`${row.channel}\n${row.user_id}`, Number(row.seq))
      }
      const dead = new Set<string>()
      for (const row of (await client.query('SELECT channel, user_id, seq FROM dead_letters')).rows as { channel: string; user_id: string; seq: string }[]) {
        dead.add(`${row.channel}\n${row.user_id}\n${Number(row.seq)}`)
      }
      let acked = 0
      let deadLettered = 0
      for (const { channel, seq, recipient } of owed) {
        if ((cursors.get(`${channel}\n${recipient}`) ?? 0) >= seq) acked += 1
        else if (dead.has(`${channel}\n${recipient}\n${seq}`)) deadLettered += 1
      }
      const neither = owed.length - acked - deadLettered
      if (neither === 0 || Date.now() > deadline) return { messages: owed.length, acked, deadLettered, neither }
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  } finally {
    await client.end()
  }
}

/** The report as a table, and the last line scripts read. */
export function formatReport(report: ChaosReport): string {
  const faults = Object.values(report.faults).reduce((n, f) => n + f, 0)
  const rows: [string, string | number][] = [
    ['messages published (acknowledged)', report.messages],
    ['deliveries to handlers', report.deliveries],
    ...Object.entries(report.faults).map(([kind, n]): [string, number] => [`fault: ${kind}`, n]),
    ['lost', report.lost],
    ['duplicated', report.duplicated],
    ['out of order', report.outOfOrder],
    ['resubscribes not recovered', report.unrecovered],
    ['publishes failed after retries', report.failedPublishes],
    ['client error events (retried)', report.clientErrors],
    ['DM messages (at-least-once)', report.atLeastOnce.messages],
    ['  acked by the recipient', report.atLeastOnce.acked],
    ['  dead-lettered', report.atLeastOnce.deadLettered],
    ['  neither', report.atLeastOnce.neither],
    ['crashed processes', report.crashes.length],
    ['seconds', report.seconds],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  const table = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
  const crashes = report.crashes.length ? `\ncrashes:\n${report.crashes.join('\n')}` : ''
  return `${table}${crashes}\nchaos: ${report.messages} messages, ${faults} faults, ${report.lost} lost, ${report.duplicated} duplicated, ${report.outOfOrder} out of order`
}

/** True when the run met every target: nothing lost, duplicated or out of order, every DM acked or dead-lettered, no crash. */
export function passed(report: ChaosReport): boolean {
  return report.lost === 0 && report.duplicated === 0 && report.outOfOrder === 0 && report.atLeastOnce.neither === 0 && report.crashes.length === 0
}
