/** User names as the server allows them (example-app/src/rooms/user-names.ts). */
const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/

/** `@name` not glued to a word before it, as the server finds mentions (channels/room/mentions.ts). */
export const MENTION = /(?<![A-Za-z0-9_@-])@([A-Za-z0-9_-]{1,32})(?![A-Za-z0-9_-])/g

/** Whether `name` is a user name the server accepts (`system` is reserved). */
export function isUserName(name: string): boolean {
  return USER_NAME.test(name) && name !== 'system'
}

/** The DM channel of two users, in canonical order (`dm:alice:bob`, never `dm:bob:alice`). */
export function dmChannel(one: string, other: string): `dm:${string}:${string}` {
  return one < other ? `dm:${one}:${other}` : `dm:${other}:${one}`
}

/** The other user of DM channel `channel`, seen by `me`. */
export function dmPartner(channel: string, me: string): string {
  const [, a = '', b = ''] = channel.split(':')
  return a === me ? b : a
}

/** Names typed as a list: separated by spaces or commas, with or without a leading `@`, each once. */
export function parseNames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map(name => name.replace(/^@/, '')).filter(name => name !== ''))]
}
