import type { Channel, SwitchboardClient } from '@switchboard/client'
import type { ChannelMap } from '../../src/channels/index.js'
import type { Conversation } from './conversation.js'
import { byId, clear } from './dom.js'
import { memberItem } from './render.js'
import { TypingSender, TypingWatcher, typingText } from './typing.js'

/**
 * The open room's live activity: who is online (`presence()`, then `join`/`leave`, shown in
 * `#member-list`), who is typing (`typing:{roomId}`, shown in `#typing`), and this user's own
 * typing state, published throttled. One room at a time: {@link enter} leaves the previous one.
 */
export class RoomActivity {
  private room: Conversation | undefined
  private members = new Map<string, number>()
  private typingChannel: Channel<{ typing: boolean }> | undefined
  private typingListeners: (() => void)[] = []
  private readonly sender: TypingSender
  private readonly watcher: TypingWatcher

  constructor(
    private readonly client: SwitchboardClient<ChannelMap>,
    private readonly me: string,
    /** Called with every user seen online. */
    private readonly seen: (user: string) => void,
  ) {
    this.sender = new TypingSender(typing => {
      // Volatile: a typing state is worthless later, so it is dropped rather than queued while offline.
      this.typingChannel?.publish({ typing }, { volatile: true }).catch(() => {})
    })
    this.watcher = new TypingWatcher(users => {
      byId('typing').textContent = typingText(users)
    })
  }

  /** Shows `room`'s activity (or none, for a DM: `undefined`), leaving the previous room's. */
  enter(room: Conversation | undefined): void {
    this.leave()
    this.room = room
    this.members = new Map()
    this.render()
    byId('members').hidden = room === undefined
    if (!room) return
    const channel = this.client.channel(`typing:${room.target}`)
    this.typingChannel = channel
    this.typingListeners = [
      channel.on('message', message => {
        if (message.from !== this.me) this.watcher.set(message.from, message.data.typing)
      }),
    ]
    channel.subscribe().catch(error => console.warn(`typing:${room.target}:`, error))
    void this.refresh(room)
  }

  /** Fetches `room`'s presence again (after a resubscribe: joins and leaves may have been missed). */
  async refresh(room: Conversation): Promise<void> {
    if (room !== this.room) return
    try {
      const members = await this.client.channel(room.channel as `room:${string}`).presence()
      if (room !== this.room) return
      this.members = new Map(members.map(member => [member.user, member.connections]))
      for (const member of members) this.seen(member.user)
      this.render()
    } catch (error) {
      console.warn(`presence of ${room.channel}:`, error)
    }
  }

  /** A `join` or `leave` on `room`'s channel. */
  changed(room: Conversation, user: string, joined: boolean): void {
    if (room !== this.room) return
    if (joined) this.members.set(user, Math.max(1, this.members.get(user) ?? 0))
    else {
      this.members.delete(user)
      this.watcher.set(user, false)
    }
    this.render()
  }

  /** The composer changed: typing while it holds text, stopped when it is empty. */
  input(text: string): void {
    if (text.trim() === '') this.sender.stop()
    else if (this.room) this.sender.input()
  }

  /** This user stopped typing (sent, left the composer). */
  stopTyping(): void {
    this.sender.stop()
  }

  private leave(): void {
    this.sender.stop()
    for (const off of this.typingListeners.splice(0)) off()
    void this.typingChannel?.unsubscribe()
    this.typingChannel = undefined
    this.watcher.clear()
  }

  private render(): void {
    const list = byId('member-list')
    clear(list)
    for (const user of [...this.members.keys()].sort()) list.append(memberItem(user, this.members.get(user) ?? 1, this.me))
    byId('members-heading').textContent = `Online (${this.members.size})`
  }
}
