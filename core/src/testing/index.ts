/** @switchboard/core/testing — helpers for tests of Switchboard apps and engines. */
export { brokerConformance, type BrokerConformanceOptions, type BrokerNodes } from './broker-conformance.js'
export { presenceConformance, type PresenceNodes } from './presence-conformance.js'
export { queueConformance, type QueueNodes } from './queue-conformance.js'
export { sequencerConformance, type SequencerNodes } from './sequencer-conformance.js'
export { storeConformance, type StoreConformanceOptions, type StoreNodes } from './store-conformance.js'
export { TestClient, type AnyFrame, type CloseEvent, type TestClientOptions } from './test-client.js'
export { startTestServer, TEST_JWT_SECRET, type TestServer } from './test-server.js'
export { freePort, startEmbeddedPostgres, startRedisServer, type EmbeddedPostgresHandle, type EmbeddedPostgresOptions, type RedisServerHandle, type RedisServerOptions } from './services.js'
