import { SwitchboardError } from '../../errors.js'
import type { NodeInfo, NodeRegistry } from '../node-registry.js'

/**
 * A {@link NodeRegistry} for one process. Nodes that should see each other (several nodes in
 * one test process) share one instance; entries older than `ttlMs` are dropped from `list`.
 */
export class MemoryNodeRegistry implements NodeRegistry {
  readonly #entries = new Map<string, NodeInfo>()
  readonly #ttlMs: number
  readonly #now: () => number
  #closed = false

  /** `ttlMs`: how long an entry lives without a new report (default 30000). */
  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? 30_000
    this.#now = options.now ?? Date.now
  }

  async report(info: Omit<NodeInfo, 'updatedAt'>): Promise<void> {
    this.#assertOpen()
    this.#entries.set(info.id, { ...info, updatedAt: this.#now() })
  }

  async leave(nodeId: string): Promise<void> {
    this.#assertOpen()
    this.#entries.delete(nodeId)
  }

  async list(): Promise<NodeInfo[]> {
    this.#assertOpen()
    const oldest = this.#now() - this.#ttlMs
    for (const [id, entry] of this.#entries) if (entry.updatedAt < oldest) this.#entries.delete(id)
    return [...this.#entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #assertOpen(): void {
    if (this.#closed) throw new SwitchboardError('CLOSED', 'The node registry is closed.')
  }
}
