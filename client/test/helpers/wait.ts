import type { Channel, ChannelMessage, ConnectionState, StateChange, SwitchboardClient } from '../../src/index.js'

/** Rejects after `ms` with a message saying what was awaited, unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves with the next state change of `client` into `state` (or matching `match`). */
export function nextState(client: SwitchboardClient<any>, state: ConnectionState, match: (change: StateChange) => boolean = () => true, ms = 15_000): Promise<StateChange> {
  return within(
    new Promise<StateChange>(resolve => {
      const off = client.on('state', change => {
        if (change.state !== state || !match(change)) return
        off()
        resolve(change)
      })
    }),
    ms,
    `state ${state}`,
  )
}

/** Resolves when `client` is connected (at once if it is). */
export function connected(client: SwitchboardClient<any>, ms = 15_000): Promise<unknown> {
  return client.state === 'connected' ? Promise.resolve() : nextState(client, 'connected', () => true, ms)
}

/** Records a channel's messages and lets a test wait for a count of them. */
export class Inbox<Data = unknown> {
  readonly messages: ChannelMessage<Data>[] = []
  private waiters: { count: number; resolve(): void }[] = []

  constructor(channel: Channel<Data>, private readonly onMessage?: (message: ChannelMessage<Data>) => unknown) {
    channel.on('message', message => {
      this.messages.push(message)
      for (const waiter of this.waiters.filter(w => this.messages.length >= w.count)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
      return this.onMessage?.(message)
    })
  }

  /** Resolves once `count` messages arrived in all. */
  waitFor(count: number, ms = 20_000): Promise<void> {
    if (this.messages.length >= count) return Promise.resolve()
    return within(new Promise<void>(resolve => this.waiters.push({ count, resolve })), ms, `${count} messages (have ${this.messages.length})`)
  }

  /** The seqs received, in order. */
  get seqs(): number[] {
    return this.messages.map(m => m.seq)
  }
}

/** 1..n */
export function range(n: number, from = 1): number[] {
  return Array.from({ length: n }, (_, i) => i + from)
}

/** Resolves once `check()` is true, re-checking whenever `client` changes state or `poke` is called; fails after `ms`. */
export function eventually(check: () => boolean, subscribe: (poke: () => void) => () => void, ms: number, what: string): Promise<void> {
  if (check()) return Promise.resolve()
  let off = (): void => {}
  return within(
    new Promise<void>(resolve => {
      off = subscribe(() => {
        if (check()) resolve()
      })
    }),
    ms,
    what,
  ).finally(() => off())
}
