import { SwitchboardError } from '../errors.js'

/** The names of the `{params}` in a pattern, as a union: `'a' | 'b'` for `dm:{a}:{b}`. */
export type ParamNames<Pattern extends string> = Pattern extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamNames<Rest>
  : never

/** The params object a pattern yields: `{ roomId: string }` for `room:{roomId}`. */
export type ParamsOf<Pattern extends string> = { readonly [K in ParamNames<Pattern>]: string }

/** The namespace of a pattern: `'room'` for `room:{roomId}`. */
export type NamespaceOf<Pattern extends string> = Pattern extends `${infer Namespace}:${string}` ? Namespace : never

type Segment = { readonly literal: string } | { readonly param: string }

const NAMESPACE = /^[a-z][a-z0-9_-]*$/
const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/
const LITERAL = /^[^{}:\s]+$/

/**
 * A compiled channel name pattern such as `room:{roomId}` or `dm:{a}:{b}`: a literal namespace,
 * then `:`-separated segments, each a literal or a `{param}`. A param matches one non-empty
 * segment (no `:`), so `room:{roomId}` matches `room:lobby` but not `room:a:b`.
 */
export class ChannelPattern {
  /** The namespace (before the first `:`). */
  readonly namespace: string
  /** Param names in order of appearance. */
  readonly params: readonly string[]
  private readonly segments: readonly Segment[]

  /** @throws SwitchboardError `CONFIG_INVALID` when the pattern is malformed. */
  constructor(readonly source: string) {
    const [namespace, ...rest] = source.split(':')
    const bad = (why: string): never => {
      throw new SwitchboardError('CONFIG_INVALID', `channel pattern ${JSON.stringify(source)}: ${why}`)
    }
    if (namespace === undefined || !NAMESPACE.test(namespace)) bad('expected a namespace of [a-z][a-z0-9_-]* before the first ":"')
    if (rest.length === 0) bad('expected at least one segment after the namespace, e.g. room:{roomId}')
    const params: string[] = []
    this.segments = rest.map(part => {
      const param = PARAM.exec(part)?.[1]
      if (param !== undefined) {
        if (params.includes(param)) bad(`param {${param}} appears twice`)
        params.push(param)
        return { param }
      }
      if (!LITERAL.test(part)) bad(`segment ${JSON.stringify(part)} must be a literal or a single {param}`)
      return { literal: part }
    })
    this.namespace = namespace!
    this.params = params
  }

  /** The params of `name` when it matches, else undefined. */
  match(name: string): Record<string, string> | undefined {
    const parts = name.split(':')
    if (parts.length !== this.segments.length + 1 || parts[0] !== this.namespace) return undefined
    const params: Record<string, string> = Object.create(null)
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!
      const part = parts[i + 1]!
      if ('literal' in segment) {
        if (part !== segment.literal) return undefined
      } else {
        if (part.length === 0) return undefined
        params[segment.param] = part
      }
    }
    return params
  }

  /** Builds a channel name from params: `format({ roomId: 'lobby' })` → `room:lobby`. */
  format(params: Record<string, string>): string {
    return [this.namespace, ...this.segments.map(s => ('literal' in s ? s.literal : params[s.param] ?? ''))].join(':')
  }
}
