/**
 * Type-level channel maps: which payload type a channel name carries.
 *
 * Three shapes are accepted:
 * - the generated one, `ChannelMapOf<typeof channels>` from `@switchboard/core`, keyed by
 *   namespace: `{ room: { pattern: 'room:{roomId}'; data: { text: string } } }`;
 * - a hand-written one keyed by pattern: `{ 'room:{roomId}': { text: string } }` (told apart by
 *   its keys: a namespace never contains `:`, a pattern always does);
 * - the tuple of channel definitions itself, `typeof channels` (import it with `import type`,
 *   so no server code reaches the bundle): each definition's pattern and payload are read from
 *   the type-only markers `defineChannel` puts on it.
 *
 * A name matches a pattern segment by segment (`:`-separated): a `{param}` matches one non-empty
 * segment, a literal matches itself, so `room:{roomId}` matches `room:lobby` but not
 * `room:a:b`, as on the server. A segment typed `string` (from a template literal such as
 * `` `room:${id}` ``) matches anything.
 */

/** Any channel map, in one of the shapes above. */
export type ChannelMapLike = object

/** The map used when `createClient` is given none: every name is allowed and `data` is `unknown`. */
export type UntypedChannelMap = { readonly [name: string]: unknown }

type DefinitionEntry<D> = D extends { readonly __pattern?: infer P extends string; readonly __data?: infer Data } ? { pattern: P; data: Data } : never

/** One `{ pattern, data }` entry per channel definition of `M`. */
export type ChannelEntries<M> = M extends readonly unknown[]
  ? DefinitionEntry<M[number]>
  : {
      [K in keyof M & string]: K extends `${string}:${string}`
        ? { pattern: K; data: M[K] }
        : M[K] extends { pattern: infer P extends string; data: infer D }
          ? { pattern: P; data: D }
          : never
    }[keyof M & string]

type Split<S extends string> = S extends `${infer Head}:${infer Rest}` ? [Head, ...Split<Rest>] : [S]

type SegmentMatches<P extends string, N extends string> = P extends `{${string}}`
  ? N extends ''
    ? false
    : true
  : string extends N
    ? true
    : N extends P
      ? true
      : false

type SegmentsMatch<P extends readonly string[], N extends readonly string[]> = P extends [
  infer PH extends string,
  ...infer PT extends string[],
]
  ? N extends [infer NH extends string, ...infer NT extends string[]]
    ? SegmentMatches<PH, NH> extends true
      ? SegmentsMatch<PT, NT>
      : false
    : false
  : N extends []
    ? true
    : false

/** Whether channel name `N` matches pattern `P` (`room:lobby` matches `room:{roomId}`). */
export type PatternMatches<P extends string, N extends string> = SegmentsMatch<Split<P>, Split<N>>

type IsUntyped<M> = M extends readonly unknown[] ? false : string extends keyof M ? true : false

/**
 * The payload type of channel name `N` in map `M`: the `data` of every pattern that matches it
 * (`never` when none does). A name typed plain `string` gets the union of all payloads; an
 * untyped map gives `unknown`.
 */
export type ChannelDataOf<M, N extends string> =
  IsUntyped<M> extends true
    ? unknown
    : string extends N
      ? ChannelEntries<M>['data']
      : ChannelEntries<M> extends infer E
        ? E extends { pattern: infer P extends string; data: infer D }
          ? PatternMatches<P, N> extends true
            ? D
            : never
          : never
        : never

type Template<P extends string> = P extends `${infer Before}{${string}}${infer After}` ? `${Before}${string}${Template<After>}` : P

/** Every channel name `M` allows, as template literal types: `` `room:${string}` | `dm:${string}:${string}` ``. */
export type ChannelName<M> = IsUntyped<M> extends true ? string : Template<ChannelEntries<M>['pattern']>

/**
 * `N` itself when it names a channel of `M`, else a string literal type that explains why, so
 * `client.channel('room:a:b')` fails to compile with a readable message.
 */
export type CheckedName<M, N extends string> = [ChannelDataOf<M, N>] extends [never]
  ? `no channel pattern matches "${N}"`
  : N
