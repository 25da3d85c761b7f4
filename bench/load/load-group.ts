import { Histogram } from '../lib/histogram.js'
import { spawnChild, stopAll, type BenchChild } from '../lib/procs.js'
import type { TargetName } from '../targets/target-config.js'
import type { Layout, PublishArgs, WindowReport } from './worker.js'

/** Connections one load worker holds at most (each process may open 20,000 files). */
export const MAX_CONNECTIONS_PER_WORKER = 9_800

/** A merged measurement window of every worker of a group: a worker's report with its histograms merged. */
export type GroupWindow = Omit<WindowReport, 'delivery' | 'ack'> & { delivery: Histogram; ack: Histogram }

/** Options of {@link LoadGroup.open}. */
export interface GroupOpenOptions {
  target: TargetName
  /** One URL, or one per server: worker k connects to `urls[k % urls.length]`. */
  urls: string[]
  total: number
  layout: Layout
  persisted?: boolean
  /** Global index of the group's first connection (users `u<index>`). Default 0. */
  firstIndex?: number
  /** Starts no new connection after this long (ms). Default none. */
  deadlineMs?: number
}

/** What {@link LoadGroup.open} did. */
export interface GroupOpened {
  opened: number
  failed: number
  /** Connections not attempted because `deadlineMs` passed. */
  skipped: number
  firstError?: string
  /** Time until the slowest worker finished (ms). */
  ms: number
}

/**
 * Several load-worker processes driven together: connections are spread evenly over them,
 * publishing rates are split between them, and their measurement windows are merged.
 */
export class LoadGroup {
  private constructor(readonly workers: BenchChild[]) {}

  /** Starts `count` worker processes. */
  static async start(count: number, label: string): Promise<LoadGroup> {
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => spawnChild(`load:${label}:${i}`, 'load/worker.ts')))
    return new LoadGroup(workers)
  }

  /** Pids of the workers. */
  get pids(): number[] {
    return this.workers.map(w => w.pid)
  }

  /** Opens `total` connections spread over the workers; resolves with how many opened and failed. */
  async open(options: GroupOpenOptions): Promise<GroupOpened> {
    const n = this.workers.length
    let first = options.firstIndex ?? 0
    const results = await Promise.all(
      this.workers.map((worker, k) => {
        const count = Math.floor(options.total / n) + (k < options.total % n ? 1 : 0)
        const firstIndex = first
        first += count
        return worker.request<GroupOpened>(
          'open',
          {
            target: options.target,
            url: options.urls[k % options.urls.length],
            count,
            firstIndex,
            layout: options.layout,
            persisted: options.persisted,
            deadlineMs: options.deadlineMs,
          },
          600_000,
        )
      }),
    )
    const firstError = results.find(r => r.firstError)?.firstError
    return {
      opened: results.reduce((s, r) => s + r.opened, 0),
      failed: results.reduce((s, r) => s + r.failed, 0),
      skipped: results.reduce((s, r) => s + r.skipped, 0),
      ...(firstError === undefined ? {} : { firstError }),
      ms: Math.max(...results.map(r => r.ms)),
    }
  }

  /** Starts publishing `args.rate` per second in total (split evenly between workers). */
  async publish(args: PublishArgs): Promise<void> {
    await Promise.all(this.workers.map(w => w.request('publish', { ...args, rate: args.rate / this.workers.length })))
  }

  /** Stops publishing. */
  async stopPublish(): Promise<void> {
    await Promise.all(this.workers.map(w => w.request('stopPublish')))
  }

  /** Sends a command with the same args to every worker. */
  async each(cmd: string, args?: unknown): Promise<unknown[]> {
    return Promise.all(this.workers.map(w => w.request(cmd, args)))
  }

  /** Starts a measurement window on every worker. */
  async mark(): Promise<void> {
    await this.each('mark')
  }

  /** Ends the window on every worker and merges the reports. */
  async collect(): Promise<GroupWindow> {
    const reports = (await this.each('collect')) as WindowReport[]
    const merged: GroupWindow = {
      elapsedMs: 0,
      cpuMicros: 0,
      deliveries: 0,
      sent: 0,
      acks: 0,
      refused: 0,
      closed: {},
      delivery: new Histogram(),
      ack: new Histogram(),
    }
    for (const r of reports) {
      merged.elapsedMs = Math.max(merged.elapsedMs, r.elapsedMs)
      merged.cpuMicros += r.cpuMicros
      merged.deliveries += r.deliveries
      merged.sent += r.sent
      merged.acks += r.acks
      merged.refused += r.refused
      for (const [code, n] of Object.entries(r.closed)) merged.closed[Number(code)] = (merged.closed[Number(code)] ?? 0) + n
      merged.delivery.merge(r.delivery)
      merged.ack.merge(r.ack)
    }
    return merged
  }

  /** Terminates every connection of every worker. */
  async closeAll(): Promise<void> {
    await this.each('closeAll').catch(() => {})
  }

  /** Stops the worker processes. */
  async stop(): Promise<void> {
    await stopAll(this.workers)
  }
}
