/** @switchboard/core/redis — the Redis engines: fan-out, presence and ephemeral sequences across nodes. */
export { RedisBroker } from './redis-broker.js'
export type { RedisBrokerOptions, RedisBrokerState, RedisBrokerStats } from './redis-broker.js'
export { RedisPresence } from './redis-presence.js'
export type { RedisPresenceOptions, PresenceLeave } from './redis-presence.js'
export { RedisSequencer } from './redis-sequencer.js'
export type { RedisSequencerOptions } from './redis-sequencer.js'
export type { RedisSource } from './redis-connection.js'
