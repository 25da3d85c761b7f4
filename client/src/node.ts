import { WebSocket } from 'ws'
import { createClient as createBrowserClient, type SwitchboardClient } from './client.js'
import type { ChannelMapLike, UntypedChannelMap } from './channel-types.js'
import type { ClientOptions, WebSocketConstructor } from './options.js'

export * from './index.js'

/** {@link ClientOptions} for Node: `WebSocket` defaults to the `ws` package's. */
export type NodeClientOptions = Omit<ClientOptions, 'WebSocket'> & { WebSocket?: WebSocketConstructor }

/**
 * `@switchboard/client/node` — `createClient` with `ws`'s `WebSocket` preset (Node 20 has no
 * global one). Everything else is the main entry's.
 * @throws SwitchboardClientError `CONFIG_INVALID` naming the bad option.
 */
export function createClient<M extends ChannelMapLike = UntypedChannelMap>(options: NodeClientOptions): SwitchboardClient<M> {
  return createBrowserClient<M>({ WebSocket: WebSocket as unknown as WebSocketConstructor, ...options })
}
