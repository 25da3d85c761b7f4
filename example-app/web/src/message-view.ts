import type { Conversation, Pending, Shown } from './conversation.js'
import { clear } from './dom.js'
import { messageItem, pendingItem } from './render.js'

/** Within this many pixels of the bottom, new messages keep the list scrolled to the end. */
const STICKY_PX = 80

/**
 * The open conversation's message list (`ol#messages`): stored messages in seq order, then this
 * page's pending ones. Inserting keeps the reader's place: at the bottom it follows new messages;
 * reading older ones, it stays put while pages of history are added above.
 */
export class MessageView {
  private readonly items = new Map<number, HTMLLIElement>()

  constructor(
    private readonly list: HTMLOListElement,
    private readonly me: string,
    private readonly dismiss: (conversation: Conversation, pending: Pending) => void,
  ) {}

  /** Shows `conversation` from scratch, scrolled to its end. */
  show(conversation: Conversation): void {
    clear(this.list)
    this.items.clear()
    this.insert(conversation.sorted())
    for (const pending of conversation.pending.values()) this.list.append(this.pendingElement(conversation, pending))
    this.list.scrollTop = this.list.scrollHeight
  }

  /** Adds stored messages (any order, seqs already shown are replaced). */
  insert(messages: readonly Shown[]): void {
    if (messages.length === 0) return
    const list = this.list
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < STICKY_PX
    const fromBottom = list.scrollHeight - list.scrollTop
    for (const message of messages) {
      const item = messageItem(message, this.me)
      this.items.get(message.seq)?.remove()
      this.items.set(message.seq, item)
      // Usually an append: walk back from the end past pending items and later seqs.
      let before: Element | null = list.lastElementChild
      while (before && (before.classList.contains('pending') || Number((before as HTMLElement).dataset['seq']) > message.seq)) before = before.previousElementSibling
      list.insertBefore(item, before ? before.nextSibling : list.firstChild)
    }
    list.scrollTop = atBottom ? list.scrollHeight : list.scrollHeight - fromBottom
  }

  /** Shows (or updates) a pending message at the end. */
  pending(conversation: Conversation, pending: Pending): void {
    const element = this.pendingElement(conversation, pending)
    const old = this.list.querySelector(`li[data-pending="${pending.id}"]`)
    if (old) old.replaceWith(element)
    else {
      this.list.append(element)
      this.list.scrollTop = this.list.scrollHeight
    }
  }

  /** Removes a pending message (stored, or dismissed). */
  removePending(id: number): void {
    this.list.querySelector(`li[data-pending="${id}"]`)?.remove()
  }

  /** Whether the reader scrolled to the top (time to load older messages). */
  atTop(): boolean {
    return this.list.scrollTop < 40
  }

  /** Scrolls to the message `mid` and marks it for a moment; false when it is not shown. */
  highlight(mid: string): boolean {
    const item = [...this.items.values()].find(candidate => candidate.dataset['mid'] === mid)
    if (!item) return false
    item.scrollIntoView({ block: 'center' })
    item.classList.add('highlight')
    setTimeout(() => item.classList.remove('highlight'), 3000)
    return true
  }

  private pendingElement(conversation: Conversation, pending: Pending): HTMLLIElement {
    return pendingItem(pending, this.me, () => this.dismiss(conversation, pending))
  }
}
