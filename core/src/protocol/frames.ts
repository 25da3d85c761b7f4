import { z } from 'zod'
import type { ErrorDetail, WireErrorCode } from '../errors.js'

/** `limit` of a `history` request that omits it. */
export const DEFAULT_HISTORY_LIMIT = 50
/** Largest `limit` a `history` request may ask for. */
export const MAX_HISTORY_LIMIT = 100
/** Longest channel name, in UTF-16 code units. */
export const MAX_CHANNEL_LENGTH = 200
/** Longest idempotency `key` of a `publish`, in UTF-16 code units. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128
/** Longest `token` of a `connect` or `refresh`, in UTF-16 code units. */
export const MAX_TOKEN_LENGTH = 8192

/**
 * A channel name: `namespace:rest`. The namespace is `[a-z][a-z0-9_-]*`; the rest is non-empty
 * and holds no whitespace, control characters or lone surrogates (which could not round-trip
 * through UTF-8 stores and brokers).
 */
export const CHANNEL_NAME_PATTERN = /^[a-z][a-z0-9_-]*:[^\s\p{Cc}\p{Cs}]+$/u

/** A position in a channel's stream to resume after. */
export interface SincePosition {
  /** The stream's epoch, as last seen in `subscribed` or `message`. */
  readonly epoch: string
  /** The last `seq` the client has; everything after it is replayed. */
  readonly seq: number
}

/** Who the client is, for logs and metrics. */
export interface ClientInfo {
  readonly name?: string
  readonly version?: string
}

/** `connect`: must be the first frame; answered with `connected`, or `error` and close 4001. */
export interface ConnectFrame {
  readonly type: 'connect'
  readonly id: number
  /** A JWT. */
  readonly token: string
  readonly client?: ClientInfo
}

/** `subscribe`: answered with `subscribed`, then missed messages in `seq` order, then live ones. */
export interface SubscribeFrame {
  readonly type: 'subscribe'
  readonly id: number
  readonly channel: string
  readonly since?: SincePosition
}

/** `unsubscribe`: answered with `unsubscribed`. */
export interface UnsubscribeFrame {
  readonly type: 'unsubscribe'
  readonly id: number
  readonly channel: string
}

/** `publish`: answered with `published`. */
export interface PublishFrame {
  readonly type: 'publish'
  readonly id: number
  readonly channel: string
  /** Any JSON value; the channel's schema validates it. */
  readonly data: unknown
  /** Idempotency key: a repeat on the same channel answers with the first publish's result. */
  readonly key?: string
}

/** `ack`: cumulative; everything up to `seq` on `channel` is processed. No reply. */
export interface AckFrame {
  readonly type: 'ack'
  readonly channel: string
  readonly seq: number
}

/** `history`: answered with `history`. */
export interface HistoryFrame {
  readonly type: 'history'
  readonly id: number
  readonly channel: string
  /** Only messages with a smaller `seq`. */
  readonly before?: number
  /** 1..{@link MAX_HISTORY_LIMIT}; {@link DEFAULT_HISTORY_LIMIT} when absent. */
  readonly limit?: number
}

/** `presence`: answered with `presence`. */
export interface PresenceFrame {
  readonly type: 'presence'
  readonly id: number
  readonly channel: string
}

/** `refresh`: a new JWT for the same user; answered with `refreshed`. */
export interface RefreshFrame {
  readonly type: 'refresh'
  readonly id: number
  readonly token: string
}

/** `ping`: answered with `pong`. */
export interface PingFrame {
  readonly type: 'ping'
  readonly id: number
}

/** Any frame a client may send. */
export type ClientFrame =
  | ConnectFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | AckFrame
  | HistoryFrame
  | PresenceFrame
  | RefreshFrame
  | PingFrame

/** Client frames that name a channel (routed to a channel definition). */
export type ChannelFrame = SubscribeFrame | UnsubscribeFrame | PublishFrame | AckFrame | HistoryFrame | PresenceFrame

/** A message as stored and replayed: a `message` frame without `type`. */
export interface MessageRecord {
  readonly channel: string
  readonly seq: number
  readonly epoch: string
  /** Message id. */
  readonly mid: string
  /** User id of the publisher, or `"system"`. */
  readonly from: string
  readonly data: unknown
  /** Publish time, ms since the Unix epoch. */
  readonly ts: number
}

/** `connected`: the reply to `connect`. */
export interface ConnectedFrame {
  readonly type: 'connected'
  readonly id: number
  /** The connection id. */
  readonly session: string
  readonly user: string
  /** The node id. */
  readonly node: string
  /** How often the client should `ping`, in ms. */
  readonly heartbeatMs: number
}

/** `subscribed`: the reply to `subscribe`. */
export interface SubscribedFrame {
  readonly type: 'subscribed'
  readonly id: number
  readonly channel: string
  readonly epoch: string
  /** The channel's latest seq. */
  readonly seq: number
  /** True when every message after `since` follows. */
  readonly recovered: boolean
}

/** `unsubscribed`: the reply to `unsubscribe`. */
export interface UnsubscribedFrame {
  readonly type: 'unsubscribed'
  readonly id: number
  readonly channel: string
}

/** `published`: the reply to `publish`. */
export interface PublishedFrame {
  readonly type: 'published'
  readonly id: number
  readonly channel: string
  readonly seq: number
  readonly mid: string
}

/** `message`: one message on a subscribed channel. */
export interface MessageFrame extends MessageRecord {
  readonly type: 'message'
}

/** `history`: the reply to `history`, oldest first. */
export interface HistoryReplyFrame {
  readonly type: 'history'
  readonly id: number
  readonly channel: string
  readonly messages: readonly MessageRecord[]
}

/** One member of a channel's presence. */
export interface PresenceMember {
  readonly user: string
  /** How many of the user's connections are subscribed. */
  readonly connections: number
}

/** `presence`: the reply to `presence`. */
export interface PresenceReplyFrame {
  readonly type: 'presence'
  readonly id: number
  readonly channel: string
  readonly members: readonly PresenceMember[]
}

/** `join`: a user joined a channel with presence on. */
export interface JoinFrame {
  readonly type: 'join'
  readonly channel: string
  readonly user: string
}

/** `leave`: a user left a channel with presence on. */
export interface LeaveFrame {
  readonly type: 'leave'
  readonly channel: string
  readonly user: string
}

/** `refreshed`: the reply to `refresh`. */
export interface RefreshedFrame {
  readonly type: 'refreshed'
  readonly id: number
  /** The new token's expiry, seconds since the Unix epoch. */
  readonly exp: number
}

/** `pong`: the reply to `ping`. */
export interface PongFrame {
  readonly type: 'pong'
  readonly id: number
}

/** `error`: a frame failed; `id` is the failed frame's, when it had a readable one. */
export interface ErrorFrame {
  readonly type: 'error'
  readonly id?: number
  readonly code: WireErrorCode
  /** For people; never internals. */
  readonly message: string
  readonly details?: readonly ErrorDetail[]
}

/** Any frame the server may send. */
export type ServerFrame =
  | ConnectedFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | PublishedFrame
  | MessageFrame
  | HistoryReplyFrame
  | PresenceReplyFrame
  | JoinFrame
  | LeaveFrame
  | RefreshedFrame
  | PongFrame
  | ErrorFrame

const id = z.int({ error: 'Expected a positive integer' }).min(1)
const seq = z.int().min(0)
const channel = z
  .string()
  .max(MAX_CHANNEL_LENGTH)
  .regex(CHANNEL_NAME_PATTERN, { error: 'Expected `namespace:rest` without whitespace or control characters' })
const token = z.string().min(1).max(MAX_TOKEN_LENGTH)

/**
 * Schemas of the client frames, by `type`. Objects strip unknown fields rather than rejecting
 * them: a newer client may send fields this server does not know yet (forward compatibility),
 * and stripping keeps them from reaching handlers. `data` is any JSON value, required on
 * `publish`; the channel's schema validates it later. Integers are safe integers.
 */
export const clientFrameSchemas = {
  connect: z.object({
    type: z.literal('connect'),
    id,
    token,
    client: z.object({ name: z.string().max(100).optional(), version: z.string().max(50).optional() }).optional(),
  }),
  subscribe: z.object({
    type: z.literal('subscribe'),
    id,
    channel,
    since: z.object({ epoch: z.string().min(1).max(64), seq }).optional(),
  }),
  unsubscribe: z.object({ type: z.literal('unsubscribe'), id, channel }),
  publish: z.object({
    type: z.literal('publish'),
    id,
    channel,
    data: z.custom<unknown>((value) => value !== undefined, { error: 'Required' }),
    key: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH).optional(),
  }),
  ack: z.object({ type: z.literal('ack'), channel, seq }),
  history: z.object({
    type: z.literal('history'),
    id,
    channel,
    before: z.int().min(1).optional(),
    limit: z.int().min(1).max(MAX_HISTORY_LIMIT).optional(),
  }),
  presence: z.object({ type: z.literal('presence'), id, channel }),
  refresh: z.object({ type: z.literal('refresh'), id, token }),
  ping: z.object({ type: z.literal('ping'), id }),
} as const

/** The `type` of any client frame. */
export type ClientFrameType = ClientFrame['type']

/** The schema of any client frame: a discriminated union on `type` (see {@link clientFrameSchemas}). */
export const clientFrameSchema = z.discriminatedUnion('type', [
  clientFrameSchemas.connect,
  clientFrameSchemas.subscribe,
  clientFrameSchemas.unsubscribe,
  clientFrameSchemas.publish,
  clientFrameSchemas.ack,
  clientFrameSchemas.history,
  clientFrameSchemas.presence,
  clientFrameSchemas.refresh,
  clientFrameSchemas.ping,
])

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Assert<T extends true> = T
// Compile-time proof that the schemas and the interfaces above describe the same frames.
type SchemasMatchFrames = Assert<Same<z.output<typeof clientFrameSchema>, ClientFrame>> &
  Assert<Same<keyof typeof clientFrameSchemas, ClientFrameType>>
