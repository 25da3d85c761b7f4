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
}
