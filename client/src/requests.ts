import { errorFromFrame, SwitchboardClientError } from './errors.js'
import type { ServerFrame } from './frames.js'

interface Pending {
  resolve(frame: ServerFrame): void
  reject(error: SwitchboardClientError): void
}

/**
 * Matches replies to requests on one client: hands out frame ids (positive integers, never
 * reused for the client's lifetime), resolves each request with its reply frame or rejects it
 * with the server's `error`, and rejects everything outstanding when the connection drops.
 */
export class RequestTracker {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()

  /** A fresh frame id (for frames whose reply is not awaited, such as `ping`). */
  id(): number {
    return this.nextId++
  }

  /** How many requests await a reply. */
  get size(): number {
    return this.pending.size
  }

  /**
   * Registers a request under a fresh id and returns the id and a promise of its reply. The
   * promise rejects with the server's error (`code` from the `error` frame), or with whatever
   * `failAll` is given.
   */
  track(): { id: number; reply: Promise<ServerFrame> } {
    const id = this.id()
    const reply = new Promise<ServerFrame>((resolve, reject) => this.pending.set(id, { resolve, reject }))
    return { id, reply }
  }

  /** Routes a frame carrying an `id`: resolves or rejects its request. Returns false when no request waits for it. */
  settle(frame: ServerFrame): boolean {
    if (typeof frame.id !== 'number') return false
    const pending = this.pending.get(frame.id)
    if (!pending) return false
    this.pending.delete(frame.id)
    if (frame.type === 'error') pending.reject(errorFromFrame(frame))
    else pending.resolve(frame)
    return true
  }

  /** Forgets one request without settling it (its promise stays pending; callers drop it). */
  forget(id: number): void {
    this.pending.delete(id)
  }

  /** Rejects every outstanding request with `error` (connection lost, client closed). */
  failAll(error: SwitchboardClientError): void {
    const all = [...this.pending.values()]
    this.pending.clear()
    for (const pending of all) pending.reject(error)
  }
}
