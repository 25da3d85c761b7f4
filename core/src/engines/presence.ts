/** One member of a channel's presence list. */
export interface PresenceMember {
  /** The user id. */
  readonly user: string
  /** How many connections of this user are present in the channel (across all nodes). */
  readonly connections: number
}

/**
 * Who is in which channel, counted per connection so one user on two devices is one member.
 *
 * Behaviour every implementation guarantees (see `testing/presence-conformance.ts`):
 * - `add` resolves `true` exactly when it made the user present (their first connection in the
 *   channel), which is when the caller announces `join`.
 * - `remove` resolves `true` exactly when the user's last connection left, which is when the
 *   caller announces `leave`. Removing an absent connection resolves `false` and changes nothing.
 * - Both are idempotent per (channel, user, connection).
 * - `members` lists each present user once, sorted by user id.
 * - After `close()` (idempotent) calls reject with `CLOSED`.
 */
export interface Presence {
  /** Records connection `connectionId` of `user` as present in `channel`. */
  add(channel: string, user: string, connectionId: string): Promise<boolean>
  /** Removes connection `connectionId` of `user` from `channel`. */
  remove(channel: string, user: string, connectionId: string): Promise<boolean>
  /** Lists the channel's members. */
  members(channel: string): Promise<PresenceMember[]>
  /** Releases resources. */
  close(): Promise<void>
  /** Whether the presence backend answers now (readiness probes). Optional: absent means always ready. */
  readonly ready?: boolean
  /**
   * Registers `listener`, called once for each user whose last connection in a channel went
   * away without `remove` (its node died and its entries expired); the hub announces `leave`.
   * Each such leave is reported by exactly one node of the cluster. Optional. Returns a function
   * that removes the listener.
   */
  onLeave?(listener: (leave: { readonly channel: string; readonly user: string }) => void): () => void
  /**
   * Registers `listener`, called when this node's entries may have been lost (the backend
   * restarted empty, or other nodes swept this node as dead): the caller `add`s its live
   * connections again. Optional. Returns a function that removes the listener.
   */
  onReset?(listener: () => void): () => void
}
