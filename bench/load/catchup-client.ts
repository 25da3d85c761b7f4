import { signDevToken } from '@switchboard/core'
import { nowMs } from '../lib/clock.js'
import { BENCH_JWT_SECRET } from '../targets/target-config.js'
import { BenchClient } from './bench-client.js'
import { startsWith, switchboardProtocol } from './protocols.js'

/** Arguments of the catch-up measurement. */
export interface CatchupArgs {
  /** Switchboard WebSocket URL. */
  url: string
  /** Room of the persisted channel (`stored:<room>`), holding `expected` messages from seq 1. */
  room: string
  expected: number
  /** Longest wait for the whole replay (ms). */
  timeoutMs: number
}

/** What the catch-up measurement saw. */
export interface CatchupReport {
  expected: number
  received: number
  /** From sending `subscribe` with `since` to the last replayed message (ms). */
  ms: number
  /** From sending `subscribe` to its `subscribed` reply (ms). */
  subscribedMs: number
  /** `subscribed.recovered` (true when every message after `since` follows). */
  recovered: boolean
  messagesPerSecond: number
  /** CPU time of the catch-up client's process during the replay (µs). */
  clientCpuMicros: number
  /** Close code when the server closed the connection during the replay (e.g. 4008 slow consumer). */
  closedWith?: number
}

const UNSUBSCRIBED = Buffer.from('{"type":"unsubscribed"')

/** A connected client that knows the channel's epoch, ready to resubscribe from seq 0. */
export interface PreparedCatchup {
  run(): Promise<CatchupReport>
  close(): void
}

/**
 * Prepares a client 100,000 messages behind: connects, subscribes once to learn the channel's
 * epoch (which also warms the server's store up), and leaves. `run()` then resubscribes with
 * `since: { epoch, seq: 0 }` and times the replay until the last message.
 */
export async function prepareCatchup(args: CatchupArgs): Promise<PreparedCatchup> {
  const protocol = switchboardProtocol('stored')
  const channel = `stored:${args.room}`
  let received = 0
  let finish: (() => void) | undefined
  let closedWith: number | undefined
  const client = await BenchClient.open(
    args.url,
    protocol,
    {
      delivery() {
        received += 1
        if (received === args.expected) finish?.()
      },
      ack() {},
      refused() {},
      closed(code) {
        closedWith = code
        finish?.()
      },
    },
    await signDevToken(BENCH_JWT_SECRET, 'catchup', { expiresInSec: 86_400 }),
  )
  const first = client.expect(frame => protocol.isJoinReply(frame))
  client.send(`{"type":"subscribe","id":2,"channel":"${channel}"}`)
  const { epoch } = JSON.parse((await first).toString()) as { epoch: string; seq: number }
  const left = client.expect(frame => startsWith(frame, UNSUBSCRIBED))
  client.send(`{"type":"unsubscribe","id":3,"channel":"${channel}"}`)
  await left
  return {
    async run(): Promise<CatchupReport> {
      received = 0
      const done = new Promise<void>(resolve => (finish = resolve))
      const subscribed = client.expect(frame => protocol.isJoinReply(frame))
      const cpu = process.cpuUsage()
      const start = nowMs()
      client.send(JSON.stringify({ type: 'subscribe', id: 4, channel, since: { epoch, seq: 0 } }))
      const reply = JSON.parse((await subscribed).toString()) as { recovered: boolean }
      const subscribedMs = nowMs() - start
      let timer: NodeJS.Timeout | undefined
      await Promise.race([done, new Promise(resolve => (timer = setTimeout(resolve, args.timeoutMs)))])
      clearTimeout(timer)
      const ms = nowMs() - start
      const used = process.cpuUsage(cpu)
      if (closedWith === undefined) {
        // Leave the channel again (outside the timing), so that the next run replays from seq 0 as well.
        const leftAgain = client.expect(frame => startsWith(frame, UNSUBSCRIBED))
        client.send(`{"type":"unsubscribe","id":5,"channel":"${channel}"}`)
        await leftAgain
      }
      return {
        clientCpuMicros: used.user + used.system,
        expected: args.expected,
        received,
        ms,
        subscribedMs,
        recovered: reply.recovered,
        messagesPerSecond: (received * 1000) / ms,
        ...(closedWith === undefined ? {} : { closedWith }),
      }
    },
    close: () => client.terminate(),
  }
}
