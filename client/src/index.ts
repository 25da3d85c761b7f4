/**
 * @switchboard/client — the Switchboard SDK for browsers and Node (ESM). This entry has no
 * Node-only imports; in Node 20 (no global `WebSocket`) import `@switchboard/client/node`, or
 * pass `WebSocket` from `ws` as an option. MessagePack: `@switchboard/client/msgpack`.
 */
export { createClient, SwitchboardClient } from './client.js'
export type { ChannelOptions, ClientErrorEvent, ClientEvents, ConnectionInfo } from './client.js'
export { Channel } from './channel.js'
export type { HistoryOptions } from './channel.js'
export type { ChannelEvents, ChannelMessage, PresenceEvent, SubscribedEvent, SubscriptionState } from './subscription.js'
export type { PublishOptions, PublishResult } from './publisher.js'
export type { AckMode, ClientOptions, GetToken, ResolvedClientOptions, WebSocketConstructor } from './options.js'
export { CLIENT_VERSION } from './options.js'
export type { ConnectionState, StateChange, StateReason } from './connection-state.js'
export { SwitchboardClientError } from './errors.js'
export type { ClientErrorCode, ErrorDetail } from './errors.js'
export { Backoff, backoffDelay, DEFAULT_BACKOFF } from './backoff.js'
export type { BackoffOptions } from './backoff.js'
export { jsonCodec } from './codec.js'
export type { ClientCodec } from './codec.js'
export { tokenExpiry } from './token.js'
export type { MessageRecord, PresenceMember, StreamPosition } from './frames.js'
export type { ChannelDataOf, ChannelEntries, ChannelMapLike, ChannelName, CheckedName, PatternMatches, UntypedChannelMap } from './channel-types.js'
