import { SwitchboardError } from '../errors.js'
import type { AnyChannelDefinition } from './define-channel.js'

/** A channel name resolved to its definition. */
export interface ResolvedChannel {
  readonly name: string
  readonly definition: AnyChannelDefinition
  readonly params: Record<string, string>
}

/** Maps channel names to definitions by namespace, and parses their params. */
export class ChannelRegistry {
  private readonly byNamespace = new Map<string, AnyChannelDefinition>()

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
    const colon = name.indexOf(':')
    const definition = colon > 0 ? this.byNamespace.get(name.slice(0, colon)) : undefined
    const params = definition?.pattern.match(name)
    if (!definition || !params) {
      throw new SwitchboardError('UNKNOWN_CHANNEL', `No channel definition matches "${name.slice(0, 200)}".`)
    }
    return { name, definition, params }
  }
}
