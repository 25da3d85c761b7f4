import { createClient, type SwitchboardClient } from '@switchboard/client'
import { signDevToken } from '@switchboard/core'
import WebSocket from 'ws'

/** Highest `message` seq seen on the wire per channel, before the SDK (diagnostics for a stuck subscription). */
export type WireSeen = Map<string, { frames: number; maxSeq: number }>

/** `ws`'s WebSocket, counting the message frames each socket receives (its own listener, beside the SDK's). */
function tracingWebSocket(seen: WireSeen): typeof WebSocket {
  class TracingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      this.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return
        try {
          const frame = JSON.parse(String(data)) as { type?: string; channel?: string; seq?: number }
          if (frame.type !== 'message' || !frame.channel) return
          const entry = seen.get(frame.channel) ?? { frames: 0, maxSeq: 0 }
          entry.frames += 1
          entry.maxSeq = Math.max(entry.maxSeq, frame.seq ?? 0)
          seen.set(frame.channel, entry)
        } catch {
          // Not JSON: the SDK reports it.
        }
      })
    }
  }
  return TracingWebSocket as unknown as typeof WebSocket
}

/** What one user's application code saw on one channel. */
export interface ChannelRecord {
  /** The channel's latest seq when the user first subscribed: later messages are owed to it. */
  firstSeq: number | undefined
  /** Seqs handed to the message handler, in order. */
  delivered: number[]
  /** `subscribed` events with `recovered: false` after the first (history did not reach back). */
  unrecovered: number
  /** Codes of the channel's `error` events (the SDK gave the subscription up). */
  errors: string[]
}

/** One published message, as its publisher learned it from `published`. */
export interface Published {
  readonly channel: string
  readonly seq: number
  readonly mid: string
}

/**
 * One simulated user of the chaos run: an SDK client (Node, `ws`) through the balancer,
 * subscribed to its rooms and DMs, recording every message its handler receives and every
 * publish acknowledged with `published`.
 */
export class ChaosUser {
  readonly client: SwitchboardClient
  readonly channels = new Map<string, ChannelRecord>()
  readonly published: Published[] = []
  /** Message frames received on the wire per channel (diagnostics). */
  readonly wire: WireSeen = new Map()
  failedPublishes = 0
  /** Errors the SDK reported through its `error` event (id-less server errors, e.g. a resubscribe past its deadline, which it retries). */
  clientErrors = 0

  constructor(
    readonly name: string,
    url: string,
    secret: string,
  ) {
    this.client = createClient({
      url,
      WebSocket: tracingWebSocket(this.wire) as never,
      getToken: () => signDevToken(secret, name, { expiresInSec: 3600 }),
      // Faults come fast here; reconnect quickly, and keep retrying publishes through a PostgreSQL restart.
      reconnect: { minDelayMs: 100, maxDelayMs: 2000 },
      publishRetries: 30,
      publishQueueLimit: 10_000,
    })
    this.client.on('error', () => {
      this.clientErrors += 1
    })
  }

  /** Connects and subscribes to `channels`. */
  async start(channels: readonly string[]): Promise<void> {
    this.client.connect()
    await Promise.all(
      channels.map(async name => {
        const record: ChannelRecord = { firstSeq: undefined, delivered: [], unrecovered: 0, errors: [] }
        this.channels.set(name, record)
        const channel = this.client.channel(name)
        channel.on('message', message => {
          record.delivered.push(message.seq)
        })
        channel.on('error', error => {
          record.errors.push(error.code)
        })
        channel.on('subscribed', event => {
          if (record.firstSeq === undefined) record.firstSeq = event.seq
          else if (!event.recovered) record.unrecovered += 1
        })
        const first = await channel.subscribe()
        record.firstSeq ??= first.seq
      }),
    )
  }

  /** Publishes `text` on `channel`; records the outcome. */
  async publish(channel: string, text: string): Promise<void> {
    try {
      const result = await this.client.channel(channel).publish({ text })
      this.published.push({ channel, seq: result.seq, mid: result.mid })
    } catch {
      this.failedPublishes += 1
    }
  }

  /** Resolves once this user's handler got every seq up to `latest` on `channel`, or after `deadline`. */
  async until(channel: string, latest: number, deadline: number): Promise<void> {
    const record = this.channels.get(channel)!
    while (Date.now() < deadline) {
      if (record.delivered.length > 0 && record.delivered[record.delivered.length - 1]! >= latest) return
      if (latest <= (record.firstSeq ?? 0)) return
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  close(): Promise<void> {
    return this.client.close()
  }
}
