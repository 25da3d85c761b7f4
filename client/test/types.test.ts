// Compile-time tests of the typed channel map: `npm run typecheck` (tsc over client/) fails if any
// line marked @ts-expect-error compiles, or any other line does not. The runtime part only checks
// that the typed calls are the ordinary ones.
import type { NamespaceOf } from '@switchboard/core'
import t from 'tap'
import { createClient, type Channel, type ChannelDataOf, type SwitchboardClient } from '../src/index.js'
import { createClient as createNodeClient } from '../src/node.js'
import type { testChannels } from './helpers/channels.js'

/**
 * The generator's shape, keyed by namespace, exactly as core's `ChannelMapOf` documents it and
 * example-app/src/channels/index.ts exports it. Built here from the definitions' markers because
 * core's `ChannelMapOf` currently yields `{}` (its `ChannelPatternOf` infers `never`; see the
 * client issue's report).
 */
type ChannelMap = {
  [D in (typeof testChannels)[number] as NamespaceOf<NonNullable<D['__pattern']>>]: { pattern: NonNullable<D['__pattern']>; data: NonNullable<D['__data']> }
}

/** A hand-written map keyed by pattern. */
type PatternMap = { 'dm:{a}:{b}': { body: string }; 'user:{id}': { kind: 'mention'; text: string } }

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const assertType = <T extends true>(): T => true as T

function generatedMap(client: SwitchboardClient<ChannelMap>, roomId: string): void {
  const lobby = client.channel('room:lobby')
  assertType<Equal<typeof lobby, Channel<{ text: string; n?: number | undefined }>>>()
  void lobby.publish({ text: 'hi' })
  void lobby.publish({ text: 'hi', n: 2 })
  // @ts-expect-error a misspelt field
  void lobby.publish({ txt: 'hi' })
  // @ts-expect-error a field of the wrong type
  void lobby.publish({ text: 42 })
  // @ts-expect-error an unknown field (the schema is strict)
  void lobby.publish({ text: 'hi', colour: 'red' })
  // @ts-expect-error the payload of another channel
  void lobby.publish({ typing: true })

  void client.channel('typing:lobby').publish({ typing: true }, { volatile: true })
  // @ts-expect-error typing carries a boolean
  void client.channel('typing:lobby').publish({ typing: 'yes' })
  void client.channel('inbox:alice').publish({ text: 'note' })

  // Names built at run time keep their pattern's type.
  void client.channel(`room:${roomId}`).publish({ text: 'dynamic' })
  // @ts-expect-error
  void client.channel(`room:${roomId}`).publish({ typing: false })

  // @ts-expect-error no channel has this namespace
  client.channel('nope:lobby')
  // @ts-expect-error room:{roomId} has one segment after the namespace
  client.channel('room:a:b')
  // @ts-expect-error an empty segment matches no {param}
  client.channel('room:')

  lobby.on('message', message => {
    const text: string = message.data.text
    const seq: number = message.seq
    // @ts-expect-error data has no such field
    void message.data.typing
    void text
    void seq
  })
  lobby.on('subscribed', ({ recovered }) => {
    const flag: boolean = recovered
    void flag
  })
  // @ts-expect-error no such event
  lobby.on('published', () => {})
  void lobby.history({ limit: 10 }).then(messages => {
    const first: string | undefined = messages[0]?.data.text
    void first
  })
}

function patternMap(client: SwitchboardClient<PatternMap>): void {
  void client.channel('dm:alice:bob').publish({ body: 'hello' })
  // @ts-expect-error dm:{a}:{b} needs two segments
  client.channel('dm:alice')
  // @ts-expect-error
  void client.channel('user:42').publish({ kind: 'other', text: '' })
  assertType<Equal<ChannelDataOf<PatternMap, 'user:42'>, { kind: 'mention'; text: string }>>()
}

function definitionsTuple(client: SwitchboardClient<typeof testChannels>): void {
  // The definitions themselves (imported with `import type`) work as the map too.
  void client.channel('room:lobby').publish({ text: 'hi' })
  // @ts-expect-error
  void client.channel('room:lobby').publish({ text: 1 })
  // @ts-expect-error
  client.channel('nope:x')
  assertType<Equal<ChannelDataOf<typeof testChannels, 'inbox:bob'>, { text: string; n?: number | undefined }>>()
}

function untyped(): void {
  const client = createClient({ url: 'ws://127.0.0.1:1/ws', getToken: () => 'x', WebSocket: class {} as never })
  // Without a map every name is allowed and data is unknown.
  void client.channel('anything:at:all').publish({ whatever: [1, 2, 3] })
  client.channel('x:y').on('message', message => {
    // @ts-expect-error data is unknown until narrowed
    void message.data.text
  })
}

t.test('types › typed channels compile as the ordinary calls', async t => {
  const client = createNodeClient<ChannelMap>({ url: 'ws://127.0.0.1:1/ws', getToken: () => 'x' })
  const typed = createNodeClient<PatternMap>({ url: 'ws://127.0.0.1:1/ws', getToken: () => 'x' })
  t.equal(client.channel('room:lobby').name, 'room:lobby')
  t.equal(typed.channel('dm:a:b').name, 'dm:a:b')
  t.type(generatedMap, 'function')
  t.type(patternMap, 'function')
  t.type(untyped, 'function')
  t.type(definitionsTuple, 'function')
  await Promise.all([client.close(), typed.close()])
})
