import { newMessageId } from './message-id.js'
import type { ResolvedChannel } from '../channels/channel-registry.js'
import type { SubscriptionTable } from '../channels/subscription-table.js'
import type { Sequencer } from '../engines/sequencer.js'
import type { MessageStore, StoredMessage } from '../engines/store.js'
import type { Session } from '../transport/session.js'
import { validateData } from './validate-data.js'
import type { TaskDeadline } from '../dispatch/dispatch-pool.js'

/** One publish, from a client or from the server. */
export interface PublishRequest {
  readonly resolved: ResolvedChannel
  readonly data: unknown
  /** The publisher's user id, or `"system"`. */
  readonly from: string
  /** Idempotency key (persisted channels). */
  readonly key?: string
  /** The publishing connection, for client publishes. */
  readonly session?: Session
  /** Aborts at the handler deadline. */
  readonly deadline: TaskDeadline
}

/** The result of a publish. */
export interface PublishOutcome {
  readonly message: StoredMessage
  /** True when the key was seen before: nothing was stored or broadcast again. */
  readonly duplicate: boolean
}

/**
 * The publish path after authorization: validate `data` against the channel's schema, run the
 * channel's `onPublish` (which may replace or refuse the data), number the message (the store
 * for persisted channels, which commits before it resolves; the sequencer otherwise), call
 * `committed` (the `published` reply goes out here), then broadcast through the broker, encoded
 * once.
 */
export class PublishPipeline {
  constructor(
    private readonly store: MessageStore,
    private readonly sequencer: Sequencer,
    private readonly table: SubscriptionTable,
  ) {}

  /**
   * Publishes; `committed` runs after the message is durable and before it is broadcast.
   * @throws SwitchboardError `VALIDATION` for bad data; whatever `onPublish` throws; store errors.
   */
  async publish(request: PublishRequest, committed: (outcome: PublishOutcome) => void = () => {}): Promise<PublishOutcome> {
    const { resolved, from } = request
    const definition = resolved.definition
    let data = validateData(definition.schema, request.data)
    if (definition.onPublish) {
      const replaced = await definition.onPublish({
        channel: resolved.name,
        params: resolved.params,
        user: from,
        session: request.session,
        data,
        get signal() {
          return request.deadline.signal
        },
      })
      if (replaced !== undefined) data = validateData(definition.schema, replaced)
    }
    request.deadline.throwIfAborted()
    const outcome = definition.persist
      ? await this.store.append({ channel: resolved.name, from, data, key: request.key })
      : { message: await this.ephemeral(resolved.name, from, data), duplicate: false }
    committed(outcome)
    // A repeated key is usually a retry after a lost reply or an INTERNAL/TIMEOUT answer, whose
    // broadcast may never have happened: send it again. Receivers drop seqs they already have.
    const sent = this.table.publishMessage(outcome.message)
    if (sent !== undefined) await sent
    return outcome
  }

  private async ephemeral(channel: string, from: string, data: unknown): Promise<StoredMessage> {
    const { epoch, seq } = await this.sequencer.next(channel)
    const ts = Date.now()
    return { channel, seq, epoch, mid: newMessageId(ts), from, data, ts }
  }
}
