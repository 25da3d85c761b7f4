import { defineChannel } from '@switchboard/core'
import { z } from 'zod'

/** A broadcast room, persisted, with presence: anyone may subscribe and publish. */
export const room = defineChannel({
  pattern: 'room:{roomId}',
  schema: z.strictObject({ text: z.string().min(1).max(200), n: z.number().int().optional() }),
  presence: true,
  authorize: { subscribe: () => true, publish: () => true },
})

/** A user's inbox, at-least-once to its owner; anyone may publish to it. */
export const inbox = defineChannel({
  pattern: 'inbox:{user}',
  schema: z.strictObject({ text: z.string(), n: z.number().int().optional() }),
  delivery: 'at-least-once',
  recipients: ({ params }) => [params.user],
  authorize: { subscribe: ({ user, params }) => user === params.user, publish: () => true },
})

/** Typing indicators: not persisted. */
export const typing = defineChannel({
  pattern: 'typing:{roomId}',
  schema: z.strictObject({ typing: z.boolean() }),
  persist: false,
  authorize: { subscribe: () => true, publish: () => true },
})

/** Nobody may subscribe or publish. */
export const locked = defineChannel({ pattern: 'locked:{id}', schema: z.strictObject({}) })

/** Every test channel. */
export const testChannels = [room, inbox, typing, locked] as const

/** The test channels as the SDK's type parameter: `createClient<TestChannels>(…)`. */
export type TestChannels = typeof testChannels
