import { MemoryPresence } from '../../src/engines/memory/memory-presence.js'

/** Memory presence whose next `failRemoves` removals fail, as with Redis unreachable for a while. */
export class FlakyPresence extends MemoryPresence {
  failRemoves = 0
  override async remove(channel: string, user: string, connectionId: string): Promise<boolean> {
    if (this.failRemoves > 0) {
      this.failRemoves -= 1
      throw new Error('connection is closed')
    }
    return super.remove(channel, user, connectionId)
  }
}
