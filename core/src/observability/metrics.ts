import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The node's Prometheus metrics, in a registry of its own (several nodes may share a process in
 * tests). `registry.metrics()` renders the text format for `/metrics`.
 */
export class Metrics {
  readonly registry = new Registry()
  /** Open WebSocket connections. */
  readonly connections = new Gauge({ name: 'switchboard_connections', help: 'Open WebSocket connections', registers: [this.registry] })
  /** Live nodes in the node registry, as this node last read it. */
  readonly clusterNodes = new Gauge({ name: 'switchboard_cluster_nodes', help: 'Live nodes in the cluster', registers: [this.registry] })
  /** Frames received, by type. */
  readonly framesIn = new Counter({ name: 'switchboard_frames_in_total', help: 'Frames received by type', labelNames: ['type'], registers: [this.registry] })
  /** Publishes committed, by channel namespace. */
  readonly publishes = new Counter({ name: 'switchboard_publishes_total', help: 'Publishes by channel namespace', labelNames: ['namespace'], registers: [this.registry] })
  /** Messages sent again to a recipient that had not acknowledged them. */
  readonly redeliveries = new Counter({ name: 'switchboard_redeliveries_total', help: 'At-least-once redeliveries', registers: [this.registry] })
  /** Messages given up after the last redelivery attempt. */
  readonly deadLetters = new Counter({ name: 'switchboard_dead_letters_total', help: 'Dead letters recorded', registers: [this.registry] })
  /** Connections closed as slow consumers (4008). */
  readonly slowConsumers = new Counter({ name: 'switchboard_slow_consumer_closes_total', help: 'Slow-consumer closes', registers: [this.registry] })
  /** Handler calls waiting in the dispatch pool. */
  readonly dispatchQueued = new Gauge({ name: 'switchboard_dispatch_queue_depth', help: 'Dispatch queue depth', registers: [this.registry] })
  /** Engine errors, by engine. */
  readonly engineErrors = new Counter({ name: 'switchboard_engine_errors_total', help: 'Errors from engines', labelNames: ['engine'], registers: [this.registry] })
  /** Time from commit to the local send of a message, in seconds. */
  readonly deliveryLatency = new Histogram({
    name: 'switchboard_delivery_latency_seconds',
    help: 'Publish commit to local send',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })
}
