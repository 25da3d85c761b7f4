import { SwitchboardError } from '../errors.js'
import type { AnyChannelDefinition } from './define-channel.js'

/** A channel name resolved to its definition. */
export interface ResolvedChannel {
  readonly name: string
  readonly definition: AnyChannelDefinition
  readonly params: Record<string, string>
}

/** Resolved names kept for the hot path; past this many the cache starts over. */
const RESOLVED_CACHE_SIZE = 1_000

/**
 * Maps channel names to definitions by namespace, and parses their params. Resolutions are
 * cached (up to 1,000 names, then the cache starts over), so a busy channel's pattern is
 * matched once, not on every frame; a cached resolution and its `params` are frozen.
 */
export class ChannelRegistry {
  private readonly byNamespace = new Map<string, AnyChannelDefinition>()
  private readonly resolved = new Map<string, ResolvedChannel>()

  /** @throws SwitchboardError `CONFIG_INVALID` when two definitions share a namespace. */
  constructor(definitions: readonly AnyChannelDefinition[]) {
    for (const definition of definitions) {
      if (this.byNamespace.has(definition.namespace)) {
        throw new SwitchboardError('CONFIG_INVALID', `two channel definitions use the namespace "${definition.namespace}"`)
      }
      this.byNamespace.set(definition.namespace, definition)
    }
  }

  /** Every registered definition. */
  definitions(): AnyChannelDefinition[] {
    return [...this.byNamespace.values()]
  }

  /**
   * Resolves `name`.
   * @throws SwitchboardError `UNKNOWN_CHANNEL` when no definition's pattern matches it.
   */
  resolve(name: string): ResolvedChannel {
    const cached = this.resolved.get(name)
    if (cached !== undefined) return cached
    const colon = name.indexOf(':')
    const definition = colon > 0 ? this.byNamespace.get(name.slice(0, colon)) : undefined
    const params = definition?.pattern.match(name)
    if (!definition || !params) {
      throw new SwitchboardError('UNKNOWN_CHANNEL', `No channel definition matches "${name.slice(0, 200)}".`)
    }
    if (this.resolved.size >= RESOLVED_CACHE_SIZE) this.resolved.clear()
    const resolved: ResolvedChannel = Object.freeze({ name, definition, params: Object.freeze(params) })
    this.resolved.set(name, resolved)
    return resolved
  }
}
