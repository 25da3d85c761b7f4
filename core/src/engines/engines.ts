import type { Logger } from 'pino'
import type { Broker } from './broker.js'
import type { NodeRegistry } from './node-registry.js'
import type { Presence } from './presence.js'
import type { RedeliveryQueue } from './queue.js'
import type { RetentionScheduler } from './retention.js'
import type { Sequencer } from './sequencer.js'
import type { MessageStore } from './store.js'
import { MemoryBroker } from './memory/memory-broker.js'
import { MemoryMessageStore } from './memory/memory-message-store.js'
import { MemoryNodeRegistry } from './memory/memory-node-registry.js'
import { MemoryPresence } from './memory/memory-presence.js'
import { MemoryRedeliveryQueue } from './memory/memory-redelivery-queue.js'
import { MemoryRetentionScheduler } from './memory/memory-retention-scheduler.js'
import { MemorySequencer } from './memory/memory-sequencer.js'

/** The engines a node runs on. Each defaults to its memory implementation (one process, no services). */
export interface Engines {
  /** Fan-out between nodes. Default `MemoryBroker`. */
  broker: Broker
  /** Channel membership. Default `MemoryPresence`. */
  presence: Presence
  /** Persisted message streams and acked cursors. Default `MemoryMessageStore`. */
  store: MessageStore
  /** Numbers messages of channels that are not persisted. Default `MemorySequencer`. */
  sequencer: Sequencer
  /** Delayed redelivery checks of at-least-once channels. Default `MemoryRedeliveryQueue`. */
  queue: RedeliveryQueue
  /**
   * Runs history retention (channels' `history`) periodically, on one node at a time. Default
   * `MemoryRetentionScheduler` every `retentionIntervalMs`; a node's `engines` always has one
   * (optional here only so that engine sets built before it existed still type-check).
   */
  retention?: RetentionScheduler
  /**
   * The live nodes of the service (`switchboard.nodes()`, `/metrics`). Default
   * `MemoryNodeRegistry` (this node only); a node's `engines` always has one.
   */
  nodes?: NodeRegistry
}

/** Fills every engine `given` lacks with its memory implementation. */
export function withDefaultEngines(
  given: Partial<Engines> | undefined,
  defaults: { retentionIntervalMs: number; logger: Logger },
): Engines & Required<Pick<Engines, 'retention' | 'nodes'>> {
  return {
    broker: given?.broker ?? new MemoryBroker(),
    presence: given?.presence ?? new MemoryPresence(),
    store: given?.store ?? new MemoryMessageStore(),
    sequencer: given?.sequencer ?? new MemorySequencer(),
    queue: given?.queue ?? new MemoryRedeliveryQueue(),
    retention: given?.retention ?? new MemoryRetentionScheduler({ intervalMs: defaults.retentionIntervalMs, logger: defaults.logger }),
    nodes: given?.nodes ?? new MemoryNodeRegistry(),
  }
}
