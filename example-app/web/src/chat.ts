import { createClient, type ChannelMessage, type StateChange, type SubscribedEvent, type SwitchboardClient } from '@switchboard/client'
// Type-only: the app's channel map gives the client its channel names and payload types
// (nothing of the server reaches the bundle).
import type { ChannelMap } from '../../src/channels/index.js'
import { ApiError, createRoom, listRooms, type Room } from './api.js'
import { Conversation, type Pending } from './conversation.js'
import { byId, clear } from './dom.js'
import { MessageView } from './message-view.js'
import { dmChannel, isUserName, parseNames } from './names.js'
import { connectionText, conversationItem, mentions } from './render.js'
import { RoomActivity } from './room-activity.js'
import { currentToken, logOut, type Session } from './session.js'
import { toast } from './toasts.js'

/** Messages per history page. */
const HISTORY_PAGE = 50
/** How often the room list is fetched again while the tab is visible (ms): rooms others add you to. */
const ROOMS_REFRESH_MS = 20_000
/** Most users whose DM channel the page listens on (the server allows 128 subscriptions per connection). */
const MAX_DM_PARTNERS = 60

/**
 * The chat once logged in: one SDK client, every room of the user (subscribed, for live unread
 * counts), DMs, the inbox (`user:{me}`, mention notifications), and the open conversation with
 * its history, presence and typing indicator. Messages are keyed by seq ({@link Conversation}),
 * so history, live messages, resumes after reconnects and the page's own publishes show each
 * message once.
 */
export class Chat {
  private readonly client: SwitchboardClient<ChannelMap>
  private readonly me: string
  private readonly conversations = new Map<string, Conversation>()
  /** Room channels in the order `GET /api/rooms` lists them (the lobby first). */
  private roomOrder: string[] = []
  /** Users whose DM channel the page listens on. */
  private readonly partners = new Set<string>()
  private readonly view: MessageView
  private current: Conversation | undefined
  /** The open room's presence and typing. */
  private readonly activity: RoomActivity
  private roomsRequest: Promise<void> | undefined
  private pendingIds = 0

  constructor(private readonly session: Session) {
    this.me = session.user
    this.client = createClient<ChannelMap>({
      url: '/ws',
      getToken: () => currentToken(session),
      // A chat page wants to be back soon after a restart: at most 5 s between attempts.
      reconnect: { minDelayMs: 300, maxDelayMs: 5000 },
    })
    this.view = new MessageView(byId<HTMLOListElement>('messages'), this.me, (conversation, pending) => this.dismiss(conversation, pending))
    this.activity = new RoomActivity(this.client, this.me, user => this.cameAcross(user))
  }

  /** Connects, subscribes to the inbox and the rooms, opens the lobby and wires the page's controls. */
  start(): void {
    this.client.on('state', change => this.showState(change))
    // Rooms created while the connection was down.
    this.client.on('connected', () => void this.refreshRooms())
    this.client.on('error', ({ error, channel }) => console.warn('switchboard:', channel ?? '', error))
    this.client.connect()

    const inbox = this.client.channel(`user:${this.me}`)
    inbox.on('message', message => this.notified(message.data))
    inbox.subscribe().catch(error => console.warn('inbox:', error))

    this.wireControls()
    void this.refreshRooms().then(() => {
      const lobby = this.conversations.get('room:lobby')
      if (lobby && !this.current) this.open(lobby)
    })
    setInterval(() => {
      if (document.visibilityState === 'visible') void this.refreshRooms()
    }, ROOMS_REFRESH_MS)
  }

  private wireControls(): void {
    byId('whoami').textContent = `Logged in as ${this.me}`
    const logout = byId<HTMLButtonElement>('logout')
    logout.hidden = false
    logout.addEventListener('click', () => {
      logOut()
      void this.client.close().finally(() => location.reload())
    })
    byId('retry').addEventListener('click', () => this.client.connect())
    byId('refresh-rooms').addEventListener('click', () => void this.refreshRooms())

    const roomForm = byId<HTMLFormElement>('room-form')
    roomForm.addEventListener('submit', event => {
      event.preventDefault()
      void this.createRoom(roomForm)
    })
    byId<HTMLFormElement>('dm-form').addEventListener('submit', event => {
      event.preventDefault()
      this.startDm()
    })

    const input = byId<HTMLTextAreaElement>('message-input')
    byId<HTMLFormElement>('composer').addEventListener('submit', event => {
      event.preventDefault()
      this.send()
    })
    input.addEventListener('keydown', event => {
      // Enter sends, Shift+Enter is a new line (and IME composition is left alone).
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        this.send()
      }
    })
    input.addEventListener('input', () => this.activity.input(input.value))
    input.addEventListener('blur', () => this.activity.stopTyping())

    const list = byId<HTMLOListElement>('messages')
    list.addEventListener('scroll', () => {
      if (this.current && this.view.atTop()) void this.loadHistory(this.current, true)
    })
    byId('load-older').addEventListener('click', () => {
      if (this.current) void this.loadHistory(this.current, true)
    })
  }

  // --- Connection -------------------------------------------------------------------------

  private showState(change: StateChange): void {
    const indicator = byId('connection')
    indicator.dataset['state'] = change.state
    indicator.textContent = connectionText(change, this.client.connection?.node)
    byId('retry').hidden = change.state !== 'reconnecting'
  }

  // --- Rooms and DMs ----------------------------------------------------------------------

  /** Fetches the room list and listens on rooms not seen yet (one request at a time). */
  private refreshRooms(): Promise<void> {
    this.roomsRequest ??= (async () => {
      try {
        const rooms = await listRooms(await currentToken(this.session))
        for (const room of rooms) this.addRoom(room)
        this.roomOrder = rooms.map(room => room.channel)
        this.renderSidebar()
      } catch (error) {
        // The server may be restarting: the next refresh (on connect, or the timer) tries again.
        console.warn('rooms:', error)
      } finally {
        this.roomsRequest = undefined
      }
    })()
    return this.roomsRequest
  }

  private addRoom(room: Room): Conversation {
    const known = this.conversations.get(room.channel)
    if (known) {
      known.title = room.name
      return known
    }
    const conversation = new Conversation(room.channel, 'room', room.name, room.id)
    this.listen(conversation)
    return conversation
  }

  /** The DM with `user`, listened on from now (listed in the sidebar once it has messages, or with `list`). */
  private dmWith(user: string, list: boolean): Conversation {
    const channel = dmChannel(this.me, user)
    let conversation = this.conversations.get(channel)
    if (!conversation) {
      this.partners.add(user)
      conversation = new Conversation(channel, 'dm', user, user)
      this.listen(conversation)
      // An earlier conversation (its messages acked already) shows in the sidebar too.
      this.client
        .channel(channel)
        .history({ limit: 1 })
        .then(messages => {
          if (messages.length > 0 && !conversation!.listed) {
            conversation!.listed = true
            this.renderSidebar()
          }
        })
        .catch(() => {})
    }
    if (list && !conversation.listed) {
      conversation.listed = true
      this.renderSidebar()
    }
    return conversation
  }

  /**
   * A user the page came across (in a room's presence, as an author, in a mention): listen on
   * the DM channel with them, so a DM they start shows up. The server has no "your DMs" list, so
   * a DM from someone the page never saw shows only once they are seen (see docs/example-app.md).
   */
  private cameAcross(user: string): void {
    if (user === this.me || user === 'system' || !isUserName(user) || this.partners.has(user) || this.partners.size >= MAX_DM_PARTNERS) return
    this.dmWith(user, false)
  }

  /** Subscribes to a room's or DM's channel and routes its events. */
  private listen(conversation: Conversation): void {
    this.conversations.set(conversation.channel, conversation)
    const channel = this.client.channel(conversation.channel as `room:${string}`)
    channel.on('message', message => this.received(conversation, message))
    channel.on('subscribed', event => this.subscribed(conversation, event))
    channel.on('join', ({ user }) => {
      this.cameAcross(user)
      this.activity.changed(conversation, user, true)
    })
    channel.on('leave', ({ user }) => this.activity.changed(conversation, user, false))
    channel.on('error', error => toast(`${conversation.title}: ${error.message}`, 'error'))
    channel.subscribe().catch(error => console.warn(`${conversation.channel}:`, error))
  }

  private subscribed(conversation: Conversation, event: SubscribedEvent): void {
    if (event.resumed && !event.recovered) {
      // Messages may have been missed (history trimmed, new epoch): load the conversation again.
      conversation.resetHistory()
      if (conversation === this.current) {
        this.view.show(conversation)
        void this.loadHistory(conversation, false)
      }
    }
    if (conversation.kind !== 'room') return
    void this.activity.refresh(conversation)
    if (conversation.channel === 'room:lobby') {
      // Everyone in the lobby is someone to DM with.
      this.client
        .channel('room:lobby')
        .presence()
        .then(members => members.forEach(member => this.cameAcross(member.user)))
        .catch(() => {})
    }
  }

  private received(conversation: Conversation, message: ChannelMessage): void {
    this.cameAcross(message.from)
    const added = conversation.add(message)
    if (added === 'known') return
    const open = conversation === this.current
    if (open && added === 'reset') this.view.show(conversation)
    else if (open) this.view.insert([conversation.messages.get(message.seq)!])
    if (!open && message.from !== this.me) {
      conversation.unread += 1
      if (conversation.kind === 'room' && mentions(conversation.messages.get(message.seq)?.text ?? '', this.me)) conversation.mentioned = true
    } else if (conversation.listed) return
    conversation.listed = true
    this.renderSidebar()
  }

  private notified(data: { kind: 'mention'; room: string; mid: string; from: string; text: string }): void {
    if (data.kind !== 'mention') return
    this.cameAcross(data.from)
    const channel = `room:${data.room}`
    const show = (conversation: Conversation | undefined): void => {
      const where = conversation ? conversation.title : data.room
      if (conversation && conversation !== this.current) conversation.mentioned = true
      this.renderSidebar()
      toast(`${data.from} mentioned you in ${where}: “${data.text}”`, 'mention', {
        label: 'Show',
        run: () => {
          const target = this.conversations.get(channel)
          if (!target) return
          this.open(target)
          const reveal = (): boolean => this.view.highlight(data.mid)
          if (!reveal()) void this.loadHistory(target, false).then(reveal)
        },
      })
    }
    const known = this.conversations.get(channel)
    if (known) show(known)
    else void this.refreshRooms().then(() => show(this.conversations.get(channel)))
  }

  private async createRoom(form: HTMLFormElement): Promise<void> {
    const nameInput = byId<HTMLInputElement>('room-name')
    const membersInput = byId<HTMLInputElement>('room-members')
    const error = byId('room-error')
    error.textContent = ''
    const members = parseNames(membersInput.value).filter(name => name !== this.me)
    const bad = members.filter(name => !isUserName(name))
    if (bad.length > 0) {
      error.textContent = `Not a user name: ${bad.join(', ')} (letters, digits, _ and - only).`
      membersInput.focus()
      return
    }
    try {
      const room = await createRoom(await currentToken(this.session), nameInput.value.trim(), members)
      form.reset()
      byId<HTMLDetailsElement>('new-room').open = false
      const conversation = this.addRoom(room)
      await this.refreshRooms()
      this.open(conversation)
      toast(`Room “${room.name}” created${members.length ? ` with ${members.join(', ')}` : ''}.`, 'info')
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : 'The room could not be created.'
    }
  }

  private startDm(): void {
    const input = byId<HTMLInputElement>('dm-user')
    const error = byId('dm-error')
    const name = input.value.trim().replace(/^@/, '')
    error.textContent = ''
    if (!isUserName(name)) error.textContent = 'Type a user name: letters, digits, _ and - (1 to 32).'
    else if (name === this.me) error.textContent = 'That is you: pick someone else.'
    if (error.textContent) {
      input.focus()
      return
    }
    input.value = ''
    this.open(this.dmWith(name, true))
  }

  // --- The open conversation --------------------------------------------------------------

  private open(conversation: Conversation): void {
    if (this.current === conversation) {
      byId('message-input').focus()
      return
    }
    this.current = conversation
    conversation.unread = 0
    conversation.mentioned = false
    conversation.listed = true
    byId('conversation-title').textContent = conversation.kind === 'room' ? `# ${conversation.title}` : `@ ${conversation.title}`
    byId('conversation-info').textContent = conversation.kind === 'room' ? `Room ${conversation.target}` : `Direct messages between you and ${conversation.target}`
    byId('chat-view').dataset['channel'] = conversation.channel
    byId('send-error').textContent = ''
    this.view.show(conversation)
    this.updateLoadOlder()
    if (!conversation.historyLoaded) void this.loadHistory(conversation, false)
    this.activity.enter(conversation.kind === 'room' ? conversation : undefined)
    this.renderSidebar()
    byId('message-input').focus()
  }

  /** Loads the latest page of history, or (`older`) the page before the oldest message shown. */
  private async loadHistory(conversation: Conversation, older: boolean): Promise<void> {
    if (conversation.loading || (older && (conversation.reachedStart || !conversation.historyLoaded))) return
    conversation.loading = true
    try {
      const before = older ? conversation.oldestSeq : undefined
      const channel = this.client.channel(conversation.channel as `room:${string}`)
      const messages = await channel.history(before === undefined ? { limit: HISTORY_PAGE } : { before, limit: HISTORY_PAGE })
      const added = messages.filter(message => conversation.add(message) !== 'known')
      if (!older) conversation.historyLoaded = true
      if (messages.length < HISTORY_PAGE || messages[0]?.seq === 1) conversation.reachedStart = true
      if (conversation === this.current) this.view.insert(added.map(message => conversation.messages.get(message.seq)!).filter(Boolean))
    } catch (error) {
      console.warn(`history of ${conversation.channel}:`, error)
    } finally {
      conversation.loading = false
      if (conversation === this.current) this.updateLoadOlder()
    }
  }

  private updateLoadOlder(): void {
    const conversation = this.current
    byId('load-older').hidden = !conversation || !conversation.historyLoaded || conversation.reachedStart
  }

  private send(): void {
    const conversation = this.current
    const input = byId<HTMLTextAreaElement>('message-input')
    const text = input.value.trim()
    const error = byId('send-error')
    error.textContent = ''
    if (!conversation || text === '') return
    if (text.length > 4000) {
      error.textContent = `Too long: ${text.length} characters (4000 at most).`
      return
    }
    input.value = ''
    this.activity.stopTyping()
    const pending: Pending = { id: ++this.pendingIds, text }
    conversation.pending.set(pending.id, pending)
    if (conversation === this.current) this.view.pending(conversation, pending)
    // Queued by the SDK while offline and sent again after reconnects with the same key: stored once.
    const published =
      conversation.kind === 'room'
        ? this.client.channel(conversation.channel as `room:${string}`).publish({ text })
        : this.client.channel(conversation.channel as `dm:${string}:${string}`).publish({ text })
    published.then(
      ({ seq, mid }) => {
        conversation.pending.delete(pending.id)
        if (conversation === this.current) this.view.removePending(pending.id)
        // The live copy may come first or later (or, on a DM, only to the other user): keyed by seq, it shows once.
        if (conversation.add({ channel: conversation.channel, seq, mid, epoch: '', from: this.me, data: { text }, ts: Date.now() }) === 'new' && conversation === this.current) {
          this.view.insert([conversation.messages.get(seq)!])
        }
      },
      (failure: Error) => {
        pending.error = failure.message
        if (conversation === this.current) this.view.pending(conversation, pending)
      },
    )
  }

  private dismiss(conversation: Conversation, pending: Pending): void {
    conversation.pending.delete(pending.id)
    this.view.removePending(pending.id)
  }

  // --- Rendering --------------------------------------------------------------------------

  private renderSidebar(): void {
    const rooms = this.roomOrder.map(channel => this.conversations.get(channel)).filter((room): room is Conversation => room !== undefined)
    for (const conversation of this.conversations.values()) if (conversation.kind === 'room' && !rooms.includes(conversation)) rooms.push(conversation)
    const dms = [...this.conversations.values()].filter(conversation => conversation.kind === 'dm' && conversation.listed).sort((a, b) => a.title.localeCompare(b.title))
    for (const [id, list] of [['room-list', rooms], ['dm-list', dms]] as const) {
      const element = byId(id)
      clear(element)
      for (const conversation of list) element.append(conversationItem(conversation, conversation === this.current, () => this.open(conversation)))
    }
  }
}
