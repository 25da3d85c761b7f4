/**
 * @switchboard/core — the public API. Everything a user of the framework imports comes from
 * here (and test helpers from `@switchboard/core/testing`).
 */
export { createSwitchboard } from './switchboard.js'
export type { Switchboard, SwitchboardConfig, Engines, ChannelLayerContext, DisconnectUserOptions } from './switchboard.js'
export type { Readiness } from './cluster/cluster-member.js'
export type { NodeInfo, NodeRegistry } from './engines/node-registry.js'
export { MemoryNodeRegistry } from './engines/memory/memory-node-registry.js'
export { DEFAULT_OPTIONS, resolveOptions } from './options.js'
export type { SwitchboardOptions, SwitchboardOptionsInput, JwtOptions } from './options.js'
export { loadOptionsFromEnv, ENV_VARIABLES } from './env.js'
export { ERROR_CODES, SwitchboardError, isSwitchboardError, toWireError } from './errors.js'
export type { ErrorCode, WireErrorCode, ErrorDetail, ErrorCodeInfo } from './errors.js'
export { CLOSE_CODES } from './protocol/close-codes.js'
export type { CloseCode } from './protocol/close-codes.js'
export type * from './protocol/frames.js'
export type { Codec } from './protocol/codec.js'
export { PreparedFrame } from './protocol/prepared-frame.js'
export { httpServerOptions } from './transport/http-server-options.js'
export { CHANNEL_NAME_PATTERN, DEFAULT_HISTORY_LIMIT, MAX_CHANNEL_LENGTH, MAX_HISTORY_LIMIT } from './protocol/frames.js'
export { createJwtVerifier, signDevToken, SYSTEM_USER } from './auth/token-verifier.js'
export type { TokenVerifier, VerifiedToken } from './auth/token-verifier.js'
export { defineChannel } from './channels/define-channel.js'
export type {
  AnyChannelDefinition,
  Authorizer,
  ChannelAuthorization,
  ChannelContext,
  ChannelData,
  ChannelDefinition,
  ChannelDefinitionInput,
  ChannelMapOf,
  ChannelPatternOf,
  DeliveryMode,
  PublishContext,
} from './channels/define-channel.js'
export { ChannelPattern } from './channels/channel-pattern.js'
export type { ParamsOf, ParamNames, NamespaceOf } from './channels/channel-pattern.js'
export { ChannelRegistry } from './channels/channel-registry.js'
export type { ResolvedChannel } from './channels/channel-registry.js'
export { ChannelHub } from './channels/channel-hub.js'
export type { ServerPublishOptions, ServerPublishResult } from './channels/channel-hub.js'
export { NO_CHANNELS } from './channels/channel-layer.js'
export type { ChannelLayer } from './channels/channel-layer.js'
export type { Session } from './transport/session.js'
export type { Hooks, HookName, DisconnectInfo, DisconnectReason } from './lifecycle/hooks.js'
export { DispatchPool, deadlineOf } from './dispatch/dispatch-pool.js'
export type { DispatchPoolOptions, DispatchTask, TaskDeadline } from './dispatch/dispatch-pool.js'
export type { Broker, BrokerListener } from './engines/broker.js'
export type { Presence, PresenceMember } from './engines/presence.js'
export type { MessageStore, StoredMessage, StoredMessageJson, AppendInput, AppendResult, StreamPosition, RetentionPolicy } from './engines/store.js'
export type { Sequencer } from './engines/sequencer.js'
export { MemoryBroker, MemoryBus } from './engines/memory/memory-broker.js'
export { MemoryPresence } from './engines/memory/memory-presence.js'
export { MemoryMessageStore } from './engines/memory/memory-message-store.js'
export { MemorySequencer } from './engines/memory/memory-sequencer.js'
export type { RetentionScheduler, RetentionRun, RetentionTick } from './engines/retention.js'
export { MemoryRetentionScheduler } from './engines/memory/memory-retention-scheduler.js'
export type { MemoryRetentionSchedulerOptions } from './engines/memory/memory-retention-scheduler.js'
export { enforceRetention } from './delivery/retention.js'
export type { RetentionReport } from './delivery/retention.js'
export { createLogger, silentLogger } from './observability/logger.js'
export type { Logger } from './observability/logger.js'
