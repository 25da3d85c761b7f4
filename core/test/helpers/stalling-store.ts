import { MemoryMessageStore } from '../../src/engines/memory/memory-message-store.js'
import type { StreamPosition } from '../../src/engines/store.js'

/** A memory store whose `position` can fail once, or wait until released (a database that errs or stalls while a subscribe sets up). */
export class StallingStore extends MemoryMessageStore {
  /** The next `position` call throws. */
  failNext = false
  /** Resolves once a `position` call waits at the gate `hold()` set. */
  stalled: Promise<void> = Promise.resolve()
  #held: { entered: () => void; gate: Promise<'ok' | 'fail'> } | undefined
  #open: ((how: 'ok' | 'fail') => void) | undefined

  /** The next `position` call waits until `release`. */
  hold(): void {
    let entered!: () => void
    this.stalled = new Promise(resolve => (entered = resolve))
    this.#held = { entered, gate: new Promise(resolve => (this.#open = resolve)) }
  }

  /** Lets the waiting call go on (`ok`) or throw (`fail`). */
  release(how: 'ok' | 'fail'): void {
    this.#open?.(how)
    this.#held = undefined
  }

  override async position(channel: string): Promise<StreamPosition> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('connection terminated')
    }
    const held = this.#held
    if (held) {
      held.entered()
      if ((await held.gate) === 'fail') throw new Error('connection terminated')
    }
    return super.position(channel)
  }
}

