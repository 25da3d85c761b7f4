import type { Broker, BrokerListener } from '../../src/engines/broker.js'
import { MemoryBroker, type MemoryBus } from '../../src/engines/memory/memory-broker.js'

/**
 * A node's link to the bus that can be held, like a slow network path: while held, publishes
 * wait; `release()` lets them out in their order. Per-node publish order is kept, which is all
 * the `Broker` contract promises; payloads of different nodes may overtake each other.
 */
export class HeldBroker implements Broker {
  readonly #inner: MemoryBroker
  #held: (() => void)[] | undefined
  constructor(bus: MemoryBus) {
    this.#inner = new MemoryBroker({ bus })
  }
  hold(): void {
    this.#held ??= []
  }
  release(): void {
    const held = this.#held ?? []
    this.#held = undefined
    for (const go of held) go()
  }
  async publish(channel: string, payload: string): Promise<void> {
    const held = this.#held
    if (held) await new Promise<void>(resolve => held.push(resolve))
    return this.#inner.publish(channel, payload)
  }
  subscribe(channel: string): Promise<void> {
    return this.#inner.subscribe(channel)
  }
  unsubscribe(channel: string): Promise<void> {
    return this.#inner.unsubscribe(channel)
  }
  setListener(listener: BrokerListener): void {
    this.#inner.setListener(listener)
  }
  async close(): Promise<void> {
    this.release()
    await this.#inner.close()
  }
}
