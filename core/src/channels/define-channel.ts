import type { z } from 'zod'
import { SwitchboardError } from '../errors.js'
import type { RetentionPolicy, StoredMessage } from '../engines/store.js'
import type { Logger } from '../observability/logger.js'
import type { ServerPublishOptions, ServerPublishResult } from './channel-hub.js'
import type { Session } from '../transport/session.js'
import { ChannelPattern, type NamespaceOf, type ParamsOf } from './channel-pattern.js'

/** Who is asking, about which channel. `session` is absent for server-side publishes. */
export interface ChannelContext<Params> {
  /** The channel name, e.g. `room:lobby`. */
  readonly channel: string
  /** The params parsed from the name. */
  readonly params: Params
  /** The user id (`"system"` for server-side publishes). */
  readonly user: string
  /** The connection, when the request came from a client. */
  readonly session?: Session
}

/**
 * Decides whether a request is allowed. Return `true` to allow; `false` to refuse with
 * `FORBIDDEN`; or throw a `SwitchboardError` (e.g. `FORBIDDEN` with a specific message).
 */
export type Authorizer<Params> = (context: ChannelContext<Params>) => boolean | Promise<boolean>

/** The authorization rules of a channel. Every missing rule denies (default deny). */
export interface ChannelAuthorization<Params> {
  /** May the user subscribe (and resume with `since`)? */
  subscribe?: Authorizer<Params>
  /** May the user publish? Server-side publishes skip this rule. */
  publish?: Authorizer<Params>
  /** May the user read history? Default: the `subscribe` rule. */
  history?: Authorizer<Params>
  /** May the user list presence? Default: the `subscribe` rule. */
  presence?: Authorizer<Params>
}

/** What `onPublish` receives. */
export interface PublishContext<Params, Data> extends ChannelContext<Params> {
  /** The validated payload. */
  readonly data: Data
  /** Aborts at the handler deadline. */
  readonly signal: AbortSignal
}

/** What `onPublished` receives. */
export interface PublishedContext<Params, Data> {
  /** The channel name. */
  readonly channel: string
  /** Params parsed from the channel name. */
  readonly params: Params
  /** The message as committed and broadcast (seq, mid, from, ts). */
  readonly message: StoredMessage & { readonly data: Data }
  /**
   * Publishes from the server, as `switchboard.publish` does (`from: "system"` unless told
   * otherwise), e.g. a notification to `user:{id}`. Give it an idempotency `key` derived from
   * `message.mid` so a repeat notifies nobody twice.
   */
  publish(channel: string, data: unknown, options?: ServerPublishOptions): Promise<ServerPublishResult>
  /** The node's logger. */
  readonly logger: Logger
}

/** Delivery modes (PROTOCOL.md, "Channels"). */
export type DeliveryMode = 'broadcast' | 'at-least-once'

/** The input of {@link defineChannel}. */
export interface ChannelDefinitionInput<Pattern extends string, Schema extends z.ZodType> {
  /** Name pattern, e.g. `room:{roomId}` or `dm:{a}:{b}`; the namespace selects this definition. */
  pattern: Pattern
  /** Zod schema of `data`: the single source of runtime validation and of the TypeScript type. Use strict objects so unknown fields are refused. */
  schema: Schema
  /** Authorization rules; default deny. */
  authorize?: ChannelAuthorization<ParamsOf<Pattern>>
  /**
   * Runs after validation, before the message is stored: return replacement data (validated
   * again), nothing to keep it, or throw a `SwitchboardError` to refuse.
   */
  onPublish?: (context: PublishContext<ParamsOf<Pattern>, z.infer<Schema>>) => z.infer<Schema> | void | Promise<z.infer<Schema> | void>
  /**
   * Runs once per new message after it was committed and broadcast (not for a repeated
   * idempotency key), on the node that accepted the publish: side effects that need the stored
   * message, such as notifications. Neither the `published` reply nor the connection's next
   * frames wait for it; what it throws is logged. At most once: a node that crashes right after
   * the commit does not run it (derive idempotency keys from `message.mid` and reconcile from
   * history if that matters). Shutdown waits for the ones running.
   */
  onPublished?: (context: PublishedContext<ParamsOf<Pattern>, z.infer<Schema>>) => void | Promise<void>
  /** Store messages in the message store (history, `since` recovery). Default true. */
  persist?: boolean
  /** Track presence and send `join`/`leave`. Default false. */
  presence?: boolean
  /** Delivery mode. Default `broadcast`. */
  delivery?: DeliveryMode
  /**
   * For `at-least-once`: the users who must acknowledge each message (e.g. the DM partner, the
   * inbox owner). Required for that mode.
   */
  recipients?: (context: { params: ParamsOf<Pattern>; from: string }) => readonly string[]
  /** History retention of persisted messages. Default: the store's. */
  history?: RetentionPolicy
}

/** A channel definition, ready to register. `Data` is the validated payload type. */
export interface ChannelDefinition<Pattern extends string = string, Data = unknown> {
  readonly pattern: ChannelPattern
  readonly namespace: string
  readonly schema: z.ZodType<Data>
  readonly authorize: Required<ChannelAuthorization<ParamsOf<Pattern>>>
  readonly onPublish: ChannelDefinitionInput<Pattern, z.ZodType<Data>>['onPublish']
  readonly onPublished: ChannelDefinitionInput<Pattern, z.ZodType<Data>>['onPublished']
  readonly persist: boolean
  readonly presence: boolean
  readonly delivery: DeliveryMode
  readonly recipients: ((context: { params: ParamsOf<Pattern>; from: string }) => readonly string[]) | undefined
  readonly history: RetentionPolicy | undefined
  /** Type-only marker of the payload type (always undefined at run time). */
  readonly __data?: Data
  /** Type-only marker of the pattern (always undefined at run time). */
  readonly __pattern?: Pattern
}

/** Any channel definition, whatever its pattern and payload. */
export type AnyChannelDefinition = ChannelDefinition<any, any>

/** The payload type of a channel definition. */
export type ChannelData<Definition> = Definition extends ChannelDefinition<string, infer Data> ? Data : never

/** The pattern (as a string literal type) of a channel definition. */
export type ChannelPatternOf<Definition> = Definition extends { readonly __pattern?: infer Pattern extends string } ? Pattern : never

/**
 * The typed map of an app's channels, keyed by namespace, that the client SDK uses:
 * `ChannelMapOf<typeof channels>` gives `{ room: { pattern: 'room:{roomId}'; data: { text: string } } }`.
 */
export type ChannelMapOf<Definitions extends readonly AnyChannelDefinition[]> = {
  [D in Definitions[number] as NamespaceOf<ChannelPatternOf<D>>]: { pattern: ChannelPatternOf<D>; data: ChannelData<D> }
}

const deny: Authorizer<unknown> = () => false

/**
 * Defines a channel once: its name pattern, payload schema, authorization (default deny),
 * persistence, presence and delivery mode.
 * @throws SwitchboardError `CONFIG_INVALID` for a malformed pattern, or `at-least-once` without `recipients`.
 */
export function defineChannel<Pattern extends string, Schema extends z.ZodType>(
  input: ChannelDefinitionInput<Pattern, Schema>,
): ChannelDefinition<Pattern, z.infer<Schema>> {
  const pattern = new ChannelPattern(input.pattern)
  const delivery = input.delivery ?? 'broadcast'
  if (delivery === 'at-least-once' && !input.recipients) {
    throw new SwitchboardError('CONFIG_INVALID', `channel ${input.pattern}: at-least-once delivery needs a recipients function`)
  }
  if (delivery === 'at-least-once' && input.persist === false) {
    throw new SwitchboardError('CONFIG_INVALID', `channel ${input.pattern}: at-least-once delivery needs persist: true (redelivery reads the stream)`)
  }
  const subscribe = input.authorize?.subscribe ?? deny
  return Object.freeze({
    pattern,
    namespace: pattern.namespace,
    schema: input.schema as z.ZodType<z.infer<Schema>>,
    authorize: Object.freeze({
      subscribe,
      publish: input.authorize?.publish ?? deny,
      history: input.authorize?.history ?? subscribe,
      presence: input.authorize?.presence ?? subscribe,
    }),
    onPublish: input.onPublish as ChannelDefinition<Pattern, z.infer<Schema>>['onPublish'],
    onPublished: input.onPublished as ChannelDefinition<Pattern, z.infer<Schema>>['onPublished'],
    persist: input.persist ?? true,
    presence: input.presence ?? false,
    delivery,
    recipients: input.recipients,
    history: input.history,
  })
}
