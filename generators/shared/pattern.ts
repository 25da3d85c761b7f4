// Core's pattern module itself rather than the package index: the same rules, without loading
// the whole framework (ws, pino, jose; about 0.5 s per run) or depending on the rest of core.
import { ChannelPattern } from '../../core/src/channels/channel-pattern.js'

/** What the generators need to know about a channel name pattern. */
export interface PatternInfo {
  /** The pattern as written, e.g. `dm:{a}:{b}`. */
  readonly source: string
  /** Its namespace, e.g. `dm`. */
  readonly namespace: string
  /** Its `{param}` names in order, e.g. `['a', 'b']`. */
  readonly params: readonly string[]
  /** Builds a channel name from param values (core's `ChannelPattern.format`). */
  format(values: Record<string, string>): string
}

/**
 * Parses a pattern with core's own `ChannelPattern`, so the generator accepts exactly what
 * `defineChannel` accepts.
 * @throws Error with core's message (e.g. `channel pattern "Poll": expected a namespace ...`).
 */
export function parsePattern(source: unknown): PatternInfo {
  if (typeof source !== 'string') throw new Error(`pattern: expected text such as "poll:{pollId}", got ${JSON.stringify(source)}`)
  let pattern: ChannelPattern
  try {
    pattern = new ChannelPattern(source)
  } catch (err) {
    throw new Error((err as Error).message)
  }
  return { source, namespace: pattern.namespace, params: pattern.params, format: values => pattern.format(values) }
}

/** A TypeScript single-quoted string literal of `text`. */
export function quote(text: string): string {
  return `'${text.replace(/[\\']/g, '\\$&')}'`
}

/** `text` made safe inside a comment (no `*` followed by `/`). */
export function commentSafe(text: string): string {
  return text.replace(/\*\//g, '*\\/')
}
