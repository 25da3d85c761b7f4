// Not generated: the room channel's mention notifications, written by hand.
import type { Logger, StoredMessage, Switchboard } from '@switchboard/core'
import { canUseRoom } from '../../rooms/room-access.js'
import { isUserName } from '../../rooms/user-names.js'
import { notifyMention } from '../../notifications/mention/notification.js'
import type { RoomData } from './schema.js'

/** `@name` not glued to a word before it (so `bob@example.com` mentions nobody); names as in rooms/user-names.ts. */
const MENTION = /(?<![A-Za-z0-9_@-])@([A-Za-z0-9_-]{1,32})(?![A-Za-z0-9_-])/g

/** The user names `text` mentions with `@name`, each once, in order of first appearance (reserved names left out). */
export function mentionedNames(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(MENTION), match => match[1]!))].filter(isUserName)
}

/**
 * For every `@name` in a stored room message's text, in order, sends `name` a `mention`
 * notification `{ kind: "mention", room, mid, from, text }` on `user:name`, from `system`, when
 * `name` may read the room (a member, or anyone in the lobby) and is not the author. The
 * message's `mid` is the notification's idempotency key, so running it twice for one message
 * notifies nobody twice. Never rejects: failures are logged. The room channel runs it from its
 * `onPublished` hook.
 */
export async function notifyMentions(context: {
  room: string
  message: StoredMessage & { data: RoomData }
  publish: Pick<Switchboard, 'publish'>['publish']
  logger: Logger
}): Promise<void> {
  const { room, message, logger } = context
  const { text } = message.data
  for (const name of mentionedNames(text)) {
    try {
      if (name === message.from || !(await canUseRoom(room, name))) continue
      await notifyMention({ publish: context.publish }, name, { room, mid: message.mid, from: message.from, text }, { key: `mention:${message.mid}` })
    } catch (err) {
      logger.warn({ err, channel: message.channel, mid: message.mid, user: name }, 'sending a mention notification failed')
    }
  }
}
