import type { StateChange } from '@switchboard/client'
import type { Conversation, Pending, Shown } from './conversation.js'
import { h, type Child } from './dom.js'
import { MENTION } from './names.js'

/** `text` with its `@name` mentions emphasised (`@me` marked), as text nodes and elements: never parsed as HTML. */
export function withMentions(text: string, me: string): Child[] {
  const parts: Child[] = []
  let last = 0
  for (const match of text.matchAll(MENTION)) {
    const start = match.index ?? 0
    parts.push(text.slice(last, start))
    parts.push(match[1] === me ? h('mark', { class: 'mention me' }, match[0]) : h('strong', { class: 'mention' }, match[0]))
    last = start + match[0].length
  }
  parts.push(text.slice(last))
  return parts
}

/** Whether `text` mentions `me`. */
export function mentions(text: string, me: string): boolean {
  for (const match of text.matchAll(MENTION)) if (match[1] === me) return true
  return false
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** A stored message: `li.message[data-seq][data-mid][data-from]` with the author, the time and the text. */
export function messageItem(message: Shown, me: string): HTMLLIElement {
  const when = new Date(message.ts)
  return h(
    'li',
    { class: `message${message.from === me ? ' own' : ''}${mentions(message.text, me) ? ' mentions-me' : ''}`, 'data-seq': message.seq, 'data-mid': message.mid, 'data-from': message.from },
    h('div', { class: 'meta' }, h('span', { class: 'from' }, message.from), ' ', h('time', { datetime: when.toISOString(), title: dateFormat.format(when) }, timeFormat.format(when))),
    h('p', { class: 'text' }, ...withMentions(message.text, me)),
  )
}

/** A message of this page not stored yet: `li.message.pending[data-pending]`, "sending…" or the refusal. */
export function pendingItem(pending: Pending, me: string, dismiss: () => void): HTMLLIElement {
  const failed = pending.error !== undefined
  return h(
    'li',
    { class: `message own pending${failed ? ' failed' : ''}`, 'data-pending': pending.id, 'data-from': me },
    h('div', { class: 'meta' }, h('span', { class: 'from' }, me), ' ', h('span', { class: 'status' }, failed ? `not sent: ${pending.error}` : 'sending…')),
    h('p', { class: 'text' }, ...withMentions(pending.text, me)),
    failed ? button('Dismiss', dismiss, { class: 'link' }) : null,
  )
}

/** A sidebar entry: a button opening the conversation, with its unread count and mention mark. */
export function conversationItem(conversation: Conversation, current: boolean, open: () => void): HTMLLIElement {
  const label = conversation.kind === 'room' ? `# ${conversation.title}` : conversation.title
  const unread = conversation.unread > 0 ? h('span', { class: 'badge', title: `${conversation.unread} unread` }, String(conversation.unread)) : null
  const mentioned = conversation.mentioned ? h('span', { class: 'badge mention-badge', title: 'You were mentioned' }, '@') : null
  const describe = [conversation.unread > 0 ? `${conversation.unread} unread` : '', conversation.mentioned ? 'you were mentioned' : ''].filter(Boolean).join(', ')
  const item = button(label, open, {
    class: 'conversation-link',
    'data-channel': conversation.channel,
    'aria-current': current ? 'page' : undefined,
    'aria-label': describe ? `${label} (${describe})` : undefined,
  })
  item.append(...[unread, mentioned].filter((child): child is HTMLSpanElement => child !== null))
  return h('li', {}, item)
}

/** A member of the open room's presence. */
export function memberItem(user: string, connections: number, me: string): HTMLLIElement {
  return h('li', { 'data-user': user, title: `${connections} connection${connections === 1 ? '' : 's'}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), user, user === me ? ' (you)' : '')
}

/** A button running `onClick`. */
export function button(label: string, onClick: () => void, attrs: Record<string, string | undefined> = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', ...attrs }, label)
  element.addEventListener('click', onClick)
  return element
}

/** What the connection indicator says for a state change. */
export function connectionText(change: StateChange, node: string | undefined): string {
  switch (change.state) {
    case 'connecting':
      return 'Connecting…'
    case 'connected':
      return node ? `Connected (${node})` : 'Connected'
    case 'reconnecting': {
      const why = change.reason === 'server-going-away' ? 'Server restarting' : change.reason === 'heartbeat-timeout' ? 'Connection lost' : 'Offline'
      const when = change.delayMs === undefined ? '' : ` in ${Math.max(1, Math.round(change.delayMs / 1000))} s`
      return `${why}: reconnecting${when}…`
    }
    case 'disconnected':
      return change.reason === 'no-fresh-token' || change.reason === 'unauthorized' ? 'Signed out: log in again' : 'Disconnected'
    case 'closed':
      return 'Closed'
  }
}
