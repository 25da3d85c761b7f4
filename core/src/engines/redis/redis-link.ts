import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'

/** What {@link RedisLink.send} resolves with when the connection dropped before Redis replied. */
export const LOST: unique symbol = Symbol('LOST')

/** A watched connection's state: not connected yet, ready for commands, or lost (reconnecting). */
export type RedisLinkState = 'starting' | 'ready' | 'down'

/** A command waiting for its reply. */
interface InFlight {
  settle(): void
}

/**
 * One connection an engine owns, watched: its state, how often it was lost, and commands whose
 * promises settle even when the connection drops. The client must be created with
 * `enableOfflineQueue: false` and `autoResendUnfulfilledCommands: false`, so nothing is queued
 * or replayed behind the engine's back; ioredis then never settles commands that were in flight
 * when the connection dropped, and {@link RedisLink.send} resolves them with {@link LOST}.
 */
export class RedisLink {
  /** The watched client. */
  readonly client: Redis
  #state: RedisLinkState = 'starting'
  #losses = 0
  readonly #inFlight = new Set<InFlight>()

  /**
   * Watches `client`; `onChange` runs after every state change, `onError` for every `error`
   * event (ioredis reports each failed connection attempt there; unheard, it prints them).
   */
  constructor(client: Redis, onChange: () => void, onError: (error: unknown) => void) {
    this.client = client
    client.on('error', onError)
    client.on('ready', () => {
      this.#state = 'ready'
      onChange()
    })
    client.on('close', () => {
      this.#losses += 1
      const lost = [...this.#inFlight]
      this.#inFlight.clear()
      for (const command of lost) command.settle()
      if (this.#state === 'down') return
      this.#state = 'down'
      onChange()
    })
  }

  /** The connection's state as last reported by ioredis. */
  get state(): RedisLinkState {
    return this.#state
  }

  /** How many times the connection closed (a failed connection attempt counts too). */
  get losses(): number {
    return this.#losses
  }

  /**
   * Sends `command` and resolves with its reply, or with {@link LOST} when the connection
   * closed (or was not writable) before Redis replied, in which case Redis may or may not have
   * run it. Rejects with `INTERNAL` (the Redis error as `cause`) when Redis refused the command.
   */
  send<T>(command: (client: Redis) => Promise<T>): Promise<T | typeof LOST> {
    return new Promise((resolve, reject) => {
      const entry: InFlight = { settle: () => resolve(LOST) }
      this.#inFlight.add(entry)
      command(this.client).then(
        (reply) => {
          if (this.#inFlight.delete(entry)) resolve(reply)
        },
        (error: unknown) => {
          if (!this.#inFlight.delete(entry)) return
          if (this.client.status !== 'ready') resolve(LOST)
          else reject(new SwitchboardError('INTERNAL', 'Redis refused the command.', { cause: error }))
        },
      )
    })
  }
}
