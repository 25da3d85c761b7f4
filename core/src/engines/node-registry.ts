/** One live node of the cluster, as its registry entry says. */
export interface NodeInfo {
  /** The node's id (`SWITCHBOARD_NODE_ID`). */
  readonly id: string
  /** When the node started, ms since the Unix epoch. */
  readonly startedAt: number
  /** Open connections on the node at its last report. */
  readonly connections: number
  /** When the node last reported, ms since the Unix epoch. */
  readonly updatedAt: number
}

/**
 * The live nodes of one service, for `/metrics` and admin views. Each node reports itself
 * periodically (`report`); an entry whose node stopped reporting disappears within the
 * registry's TTL.
 *
 * Behaviour every implementation guarantees:
 * - `report` replaces this node's entry; `list` includes it from then on, sorted by id.
 * - `leave` removes this node's entry at once (a clean shutdown); a node that died instead is
 *   gone from `list` once its TTL passed.
 * - After `close()` (idempotent) `report` and `list` reject with `CLOSED`.
 */
export interface NodeRegistry {
  /** Writes this node's entry (id, start time, connection count). */
  report(info: Omit<NodeInfo, 'updatedAt'>): Promise<void>
  /** Removes this node's entry. */
  leave(nodeId: string): Promise<void>
  /** The live nodes, sorted by id. */
  list(): Promise<NodeInfo[]>
  /** Releases resources (leaves the entry to expire unless `leave` was called). */
  close(): Promise<void>
}
