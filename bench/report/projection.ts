import type { BenchResults } from './results.js'

/** Resources one Switchboard node needs for `connections` idle connections, projected from the measurements. */
export interface Projection {
  connections: number
  /** Process RSS (bytes): the measured base plus the measured RSS per connection. */
  rssBytes: number
  /** V8 heap (bytes) the connections hold after GC. */
  heapBytes: number
  /** Kernel memory for the sockets (bytes), at the assumed {@link KERNEL_BYTES_PER_IDLE_SOCKET}. */
  kernelBytes: number
  /** CPU (cores) spent on heartbeats at the default 25 s interval. */
  heartbeatCores: number
  /** Open files the process needs (connections plus a margin). */
  openFiles: number
}

/** Kernel memory of one idle TCP socket (socket, inode, file, epoll item; no buffered data): an assumption, not measured. */
export const KERNEL_BYTES_PER_IDLE_SOCKET = 4_096

/** Switchboard's default heartbeat interval (ms). */
export const DEFAULT_HEARTBEAT_MS = 25_000

/**
 * Projects one node's needs to `connections` from the max-connections scenario (or, without
 * it, the idle-memory scenario): memory grows linearly per connection, heartbeat CPU with
 * connections ÷ interval. Undefined when neither scenario ran.
 */
export function project(results: BenchResults, connections: number): Projection | undefined {
  const max = results.maxConnections
  const idle = results.memory?.switchboard
  const rssPer = max?.rssPerConnection ?? idle?.rssPerConnection
  const heapPer = max?.heapPerConnection ?? idle?.heapPerConnection
  if (rssPer === undefined || heapPer === undefined) return undefined
  const base = max ? max.rssBytes - max.rssPerConnection * max.held : idle ? idle.rssTotal - idle.rssPerConnection * idle.connections : 0
  const heartbeatUs = max?.cpuPerConnectionHeartbeatUs ?? 0
  return {
    connections,
    rssBytes: Math.max(0, base) + rssPer * connections,
    heapBytes: heapPer * connections,
    kernelBytes: KERNEL_BYTES_PER_IDLE_SOCKET * connections,
    heartbeatCores: (heartbeatUs * connections) / (DEFAULT_HEARTBEAT_MS * 1000),
    openFiles: connections + 1_024,
  }
}
