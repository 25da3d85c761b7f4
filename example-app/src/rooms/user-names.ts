import { z } from 'zod'

/**
 * What the example app accepts as a user name: 1..32 letters, digits, `_` or `-`, case-sensitive
 * (`Alice` and `alice` are two users), except the reserved names. Development tokens, room
 * members and `@name` mentions all use it. Tokens from your own identity provider may carry
 * other `sub`s: such users can connect and create rooms, but can only be named as members or
 * mentioned if they match this pattern (change it here if your ids differ; it must never allow
 * `:`, which separates channel segments).
 */
export const USER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,32}$/

/** Names no user may have: `system` is the `from` of server messages, which a user must not be able to fake. */
export const RESERVED_USER_NAMES: ReadonlySet<string> = new Set(['system'])

/** Whether `name` is a valid, unreserved user name. */
export function isUserName(name: string): boolean {
  return USER_NAME_PATTERN.test(name) && !RESERVED_USER_NAMES.has(name)
}

/** The zod schema of a user name (see {@link USER_NAME_PATTERN} and {@link RESERVED_USER_NAMES}). */
export const userNameSchema = z
  .string()
  .regex(USER_NAME_PATTERN, 'expected 1..32 letters, digits, _ or -')
  .refine(name => !RESERVED_USER_NAMES.has(name), 'this name is reserved')
