import type { AnyChannelDefinition } from '../channels/define-channel.js'
import type { MessageStore, RetentionPolicy } from '../engines/store.js'
import type { Logger } from '../observability/logger.js'

/** What one {@link enforceRetention} pass did. */
export interface RetentionReport {
  /** Messages trimmed in all. */
  readonly trimmed: number
  /** Messages trimmed per namespace (every namespace that was trimmed, 0 included). */
  readonly byNamespace: Readonly<Record<string, number>>
  /** Namespaces whose trim failed (logged at `error`); the next pass tries them again. */
  readonly failed: readonly string[]
}

/**
 * Applies the history retention of every persisted channel definition once, with one
 * `store.trimNamespace(definition.namespace, policy)` per definition, one after another. The
 * policy is the definition's `history`, else `defaultPolicy`, else `{}`: the store's own
 * `defaultRetention` (which is how a store's `maxAgeMs` default gets enforced). Channels that
 * are not persisted store nothing and are skipped.
 *
 * Idempotent: trimming only ever removes what is already past the policy, so a pass repeated
 * (at-least-once scheduling) or run by two nodes at once trims nothing more. A namespace whose
 * trim fails is logged and reported in `failed`, and the others still go: this never rejects.
 */
export async function enforceRetention(
  store: MessageStore,
  definitions: readonly AnyChannelDefinition[],
  defaultPolicy?: RetentionPolicy,
  logger?: Logger,
): Promise<RetentionReport> {
  const byNamespace: Record<string, number> = {}
  const failed: string[] = []
  let trimmed = 0
  for (const definition of definitions) {
    if (!definition.persist) continue
    const policy = definition.history ?? defaultPolicy ?? {}
    try {
      const count = await store.trimNamespace(definition.namespace, policy)
      byNamespace[definition.namespace] = count
      trimmed += count
    } catch (err) {
      failed.push(definition.namespace)
      logger?.error({ err, namespace: definition.namespace, policy }, 'retention: trimming a namespace failed')
    }
  }
  if (trimmed > 0) logger?.info({ trimmed, byNamespace }, 'retention: trimmed history')
  else logger?.debug({ byNamespace }, 'retention: nothing to trim')
  return { trimmed, byNamespace, failed }
}
