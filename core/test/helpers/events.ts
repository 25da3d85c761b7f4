import type { Switchboard } from '../../src/switchboard.js'
import type { DisconnectInfo } from '../../src/lifecycle/hooks.js'

/** Resolves with the `count` next disconnects the node reports (through its `onDisconnect` hook). */
export function nextDisconnects(switchboard: Switchboard, count = 1): Promise<DisconnectInfo[]> {
  const seen: DisconnectInfo[] = []
  return new Promise(resolve => {
    switchboard.addHook('onDisconnect', (_session, info) => {
      seen.push(info)
      if (seen.length === count) resolve(seen)
    })
  })
}
