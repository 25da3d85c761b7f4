export { brokerConformance, type BrokerConformanceOptions, type BrokerNodes } from './broker-conformance.js'
export { presenceConformance, type PresenceNodes } from './presence-conformance.js'
