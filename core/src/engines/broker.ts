/** Receives every payload published to a channel this node is subscribed to. */
export type BrokerListener = (channel: string, payload: string) => void

/**
 * Fan-out between nodes. A node subscribes once per channel that has local subscribers (the
 * hub does the reference counting) and receives every payload any node publishes to it.
 *
 * Behaviour every implementation guarantees (the conformance suite in
 * `testing/broker-conformance.ts` checks it):
 * - Payloads published by one node to one channel reach each subscribed node in publish order.
 * - A node receives nothing for channels it is not subscribed to.
 * - `subscribe` and `unsubscribe` are idempotent; `subscribe` resolves once delivery to this
 *   node is in effect, so a payload published after it resolves is received.
 * - Delivery is at-most-once: durable channels close gaps from the message store, never from
 *   the broker.
 * - After `close()` (idempotent) no listener is called and publishing rejects with `CLOSED`.
 */
export interface Broker {
  /** Publishes `payload` (an encoded server frame) to every node subscribed to `channel`, this one included. */
  publish(channel: string, payload: string): Promise<void>
  /** Subscribes this node to `channel`. */
  subscribe(channel: string): Promise<void>
  /** Unsubscribes this node from `channel`. */
  unsubscribe(channel: string): Promise<void>
  /** Sets the one listener that receives payloads for subscribed channels (the node's hub). */
  setListener(listener: BrokerListener): void
  /** Releases every connection and subscription. */
  close(): Promise<void>
  /**
   * Whether the broker reaches the other nodes now (for readiness probes). Optional: a broker
   * without it (the memory one) is always ready.
   */
  readonly ready?: boolean
  /**
   * Registers `listener`, called after the broker lost its connection and came back: payloads
   * published meanwhile may be lost, so the hub closes gaps from the store. Optional (a broker
   * that never disconnects has none). Returns a function that removes the listener.
   */
  onReconnect?(listener: () => void): () => void
  /**
   * False when the broker knows that no node is subscribed to `channel` now, so a payload
   * published to it would reach nobody: the hub then skips encoding and publishing it.
   * Optional: a broker that cannot tell (the Redis one: other nodes' subscriptions live in
   * Redis) omits it, and every payload is published.
   */
  hasSubscribers?(channel: string): boolean
}
