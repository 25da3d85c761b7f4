import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * Frames counted by type on the hot path with plain map increments; the Prometheus counters
 * read them when scraped, so a broadcast to 5,000 connections costs 5,000 map updates rather
 * than 5,000 labelled counter updates.
 */
export class FrameTally {
  /** Frames received, by type. */
  readonly in = new Map<string, number>()
  /** Frames sent, by type. */
  readonly out = new Map<string, number>()

  /** Counts one received frame of `type`. */
  countIn(type: string): void {
    this.in.set(type, (this.in.get(type) ?? 0) + 1)
  }

  /** Counts one sent frame of `type`. */
  countOut(type: string): void {
    this.out.set(type, (this.out.get(type) ?? 0) + 1)
  }
}

/** What the node reports to gauges at scrape time. */
export interface MetricSources {
  /** Open WebSocket connections. */
  connections(): number
  /** Handler calls waiting in the dispatch pool. */
  dispatchQueued(): number
}

/**
 * The node's Prometheus metrics, in a registry of its own (several nodes may share a process in
 * tests). `registry.metrics()` renders the text format for `/metrics`.
 */
export class Metrics {
  readonly registry = new Registry()
  /** Hot-path frame counts behind `framesIn` / `framesOut`. */
  readonly tally = new FrameTally()
  /** Where the gauges read from; the node sets it. */
  sources: MetricSources = { connections: () => 0, dispatchQueued: () => 0 }

  /** Open WebSocket connections. */
  readonly connections: Gauge = new Gauge({
    name: 'switchboard_connections',
    help: 'Open WebSocket connections',
    registers: [this.registry],
    collect: (): void => this.connections.set(this.sources.connections()),
  })
  /** Live nodes in the node registry, as this node last read it. */
  readonly clusterNodes = new Gauge({ name: 'switchboard_cluster_nodes', help: 'Live nodes in the cluster', registers: [this.registry] })
  /** Frames received, by type. */
  readonly framesIn: Counter<'type'> = new Counter({
    name: 'switchboard_frames_in_total',
    help: 'Frames received by type',
    labelNames: ['type'],
    registers: [this.registry],
    collect: (): void => copyInto(this.framesIn, 'type', this.tally.in),
  })
  /** Frames sent, by type. */
  readonly framesOut: Counter<'type'> = new Counter({
    name: 'switchboard_frames_out_total',
    help: 'Frames sent by type',
    labelNames: ['type'],
    registers: [this.registry],
    collect: (): void => copyInto(this.framesOut, 'type', this.tally.out),
  })
  /** Publishes committed by namespace, counted on the hot path (see {@link countPublish}); `publishes` reads them when scraped. */
  readonly publishTally = new Map<string, number>()
  /** Publishes committed, by channel namespace. */
  readonly publishes: Counter<'namespace'> = new Counter({
    name: 'switchboard_publishes_total',
    help: 'Publishes by channel namespace',
    labelNames: ['namespace'],
    registers: [this.registry],
    collect: (): void => copyInto(this.publishes, 'namespace', this.publishTally),
  })

  /** Counts one committed publish on a channel of `namespace`. */
  countPublish(namespace: string): void {
    this.publishTally.set(namespace, (this.publishTally.get(namespace) ?? 0) + 1)
  }
  /** Messages sent again to a recipient that had not acknowledged them. */
  readonly redeliveries = new Counter({ name: 'switchboard_redeliveries_total', help: 'At-least-once redeliveries', registers: [this.registry] })
  /** Messages given up after the last redelivery attempt. */
  readonly deadLetters = new Counter({ name: 'switchboard_dead_letters_total', help: 'Dead letters recorded', registers: [this.registry] })
  /** Connections closed as slow consumers (4008). */
  readonly slowConsumers = new Counter({ name: 'switchboard_slow_consumer_closes_total', help: 'Slow-consumer closes', registers: [this.registry] })
  /** Handler calls waiting in the dispatch pool. */
  readonly dispatchQueued: Gauge = new Gauge({
    name: 'switchboard_dispatch_queue_depth',
    help: 'Dispatch queue depth',
    registers: [this.registry],
    collect: (): void => this.dispatchQueued.set(this.sources.dispatchQueued()),
  })
  /**
   * Engine errors, by engine: `broker` (Redis pub/sub connection lost), `presence` (its entries
   * were lost), `store` (a PostgreSQL call failed), `nodes` (the registry could not be updated).
   */
  readonly engineErrors = new Counter({ name: 'switchboard_engine_errors_total', help: 'Errors from engines', labelNames: ['engine'], registers: [this.registry] })
  /** Requests answered `INTERNAL` (unexpected errors, logged with their stack). */
  readonly internalErrors = new Counter({ name: 'switchboard_internal_errors_total', help: 'Requests answered INTERNAL', registers: [this.registry] })
  /** Time from commit to the local send of a message, in seconds. */
  readonly deliveryLatency = new Histogram({
    name: 'switchboard_delivery_latency_seconds',
    help: 'Publish commit to local send',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })
}

/** Sets a labelled counter to the tally's totals (the tally only grows, so the counter stays monotonic). */
function copyInto<L extends string>(counter: Counter<L>, label: L, counts: ReadonlyMap<string, number>): void {
  counter.reset()
  for (const [value, n] of counts) counter.inc({ [label]: value } as Record<L, string>, n)
}
