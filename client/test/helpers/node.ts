import { createSwitchboard, MemoryMessageStore, signDevToken, silentLogger, type MessageStore, type Switchboard, type SwitchboardConfig } from '@switchboard/core'
import { TEST_JWT_SECRET } from '@switchboard/core/testing'
import { randomBytes } from 'node:crypto'
import { testChannels } from './channels.js'

/** A Switchboard node for SDK tests, on 127.0.0.1. */
export interface TestNode {
  readonly switchboard: Switchboard
  readonly port: number
  /** `ws://127.0.0.1:<port>/ws` */
  readonly url: string
  /** Ends every open connection abruptly, as a dying network or process would (no close frame). */
  terminateConnections(): number
  /** Graceful shutdown (close 1001 to clients). Idempotent. */
  close(): Promise<void>
}

/** Options of {@link startNode}. */
export interface StartNodeOptions {
  /** Listen on this port (to restart a node where it was). Default: any free port. */
  port?: number
  /** The message store; default a fresh memory store. Pass {@link survivingStore} to reuse one across restarts. */
  store?: MessageStore
  /** More server options (channels default to the test channels). */
  config?: SwitchboardConfig
}

/** Starts a node with the test channels, the test JWT secret, a silent logger and no publish rate limit. */
export async function startNode(options: StartNodeOptions = {}): Promise<TestNode> {
  const switchboard = createSwitchboard({
    logger: silentLogger(),
    channels: testChannels,
    publishRatePerSecond: 100_000,
    publishBurst: 100_000,
    ...options.config,
    jwt: { secret: TEST_JWT_SECRET },
    engines: { store: options.store ?? new MemoryMessageStore(), ...options.config?.engines },
  })
  const { port } = await switchboard.listen(options.port ?? 0, '127.0.0.1')
  return {
    switchboard,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    terminateConnections() {
      let count = 0
      for (const session of switchboard.sessions()) {
        // The node's sessions are its connections, which can drop their socket without a close frame.
        ;(session as unknown as { terminate(reason: string): void }).terminate('socket-error')
        count += 1
      }
      return count
    },
    close: () => switchboard.close(),
  }
}

/**
 * A view of `store` whose `close()` does nothing, so one store outlives a node that is shut down
 * and restarted (a restarted process reading the same database). `closeForReal` closes it.
 */
export function survivingStore(store: MessageStore): MessageStore & { closeForReal(): Promise<void> } {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => {}
      if (property === 'closeForReal') return () => target.close()
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  }) as MessageStore & { closeForReal(): Promise<void> }
}

/** A token for `user` signed with the test secret; each call gives a different token (a nonce claim). */
export function token(user: string, expiresInSec = 3600): Promise<string> {
  return signDevToken(TEST_JWT_SECRET, user, { expiresInSec, claims: { nonce: randomBytes(6).toString('hex') } })
}
