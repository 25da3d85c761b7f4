/**
 * The wire frames the SDK reads and writes (PROTOCOL.md, version 1), as TypeScript types. The
 * SDK keeps its own copy rather than importing `@switchboard/core`, so browser apps need
 * nothing from the server package.
 */

/** A position in a channel's stream: resume after `seq` of `epoch`. */
export interface StreamPosition {
  readonly epoch: string
  readonly seq: number
}

/** One message of a channel (`message` frame without `type`; also `history` entries). */
export interface MessageRecord<Data = unknown> {
  /** The channel name, e.g. `room:lobby`. */
  readonly channel: string
  /** Position in the channel's stream: 1, 2, 3, … */
  readonly seq: number
  /** The stream's epoch: changes when the stream's history was lost or reset. */
  readonly epoch: string
  /** Message id, unique across channels. */
  readonly mid: string
  /** User id of the publisher, or `"system"`. */
  readonly from: string
  /** The payload, as the channel's schema validated it. */
  readonly data: Data
  /** Publish time, ms since the Unix epoch. */
  readonly ts: number
}

/** One member of a channel's presence. */
export interface PresenceMember {
  readonly user: string
  /** How many of the user's connections are subscribed. */
  readonly connections: number
}

/** `connected`: the reply to `connect`. */
export interface ConnectedFrame {
  readonly type: 'connected'
  readonly id: number
  readonly session: string
  readonly user: string
  readonly node: string
  readonly heartbeatMs: number
}

/** `subscribed`: the reply to `subscribe`. */
export interface SubscribedFrame {
  readonly type: 'subscribed'
  readonly id: number
  readonly channel: string
  readonly epoch: string
  readonly seq: number
  readonly recovered: boolean
}

/** `published`: the reply to `publish`. */
export interface PublishedFrame {
  readonly type: 'published'
  readonly id: number
  readonly channel: string
  readonly seq: number
  readonly mid: string
}

/** Any frame from the server, loosely: a `type`, maybe an `id`, and the type's fields. */
export interface ServerFrame {
  readonly type: string
  readonly id?: number
  readonly [field: string]: unknown
}

/** Any frame the SDK sends. */
export type ClientFrame =
  | { type: 'connect'; id: number; token: string; client?: { name?: string; version?: string } }
  | { type: 'subscribe'; id: number; channel: string; since?: StreamPosition }
  | { type: 'unsubscribe'; id: number; channel: string }
  | { type: 'publish'; id: number; channel: string; data: unknown; key?: string }
  | { type: 'ack'; channel: string; seq: number }
  | { type: 'history'; id: number; channel: string; before?: number; limit?: number }
  | { type: 'presence'; id: number; channel: string }
  | { type: 'refresh'; id: number; token: string }
  | { type: 'ping'; id: number }

/** A client frame that expects a reply, without its `id` (the request layer assigns it). */
export type RequestFrame = DistributiveOmit<Exclude<ClientFrame, { type: 'ack' }>, 'id'>

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
