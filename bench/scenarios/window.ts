import { sleep } from '../lib/clock.js'
import { treeCpuMicros } from '../lib/proc-stat.js'
import type { GroupWindow, LoadGroup } from '../load/load-group.js'

/** One measured window: the server trees' CPU and each load group's merged report. */
export interface MeasuredWindow {
  /** Wall time of the window (ms). */
  ms: number
  /** CPU time of the servers' process trees during the window (µs, from /proc/<pid>/stat). */
  serverCpuMicros: number
  /** CPU time of the sidecar processes (e.g. the Redis server) during the window (µs). */
  sidecarCpuMicros: number
  /** Merged report per group, in the order given. */
  groups: GroupWindow[]
}

/**
 * Measures `ms` of whatever is running: marks every load group, reads the CPU of the server
 * process trees (and of `sidecarPids`, kept apart), waits, reads them again and collects the
 * groups' reports.
 */
export async function measureWindow(
  serverPids: readonly number[],
  groups: readonly LoadGroup[],
  ms: number,
  sidecarPids: readonly number[] = [],
): Promise<MeasuredWindow> {
  await Promise.all(groups.map(g => g.mark()))
  const cpu0 = treeCpuMicros(serverPids)
  const side0 = treeCpuMicros(sidecarPids)
  const t0 = performance.now()
  await sleep(ms)
  const cpu1 = treeCpuMicros(serverPids)
  const side1 = treeCpuMicros(sidecarPids)
  const t1 = performance.now()
  const reports = await Promise.all(groups.map(g => g.collect()))
  return { ms: t1 - t0, serverCpuMicros: cpu1 - cpu0, sidecarCpuMicros: side1 - side0, groups: reports }
}

/** Rounds to `digits` decimals (for reports). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/**
 * Warms a target up before its first measured step: runs `start` (which starts publishing at
 * a low rate), then polls half-second windows until `settled` says the target keeps up with it
 * (lazy initialisation done, JIT warm: e.g. a store's first transaction), at most `timeoutMs`,
 * and runs `stop`. Every target gets the same treatment.
 */
export async function prime(
  groups: readonly LoadGroup[],
  start: () => Promise<void>,
  stop: () => Promise<void>,
  settled: (windows: GroupWindow[]) => boolean,
  timeoutMs = 8_000,
): Promise<void> {
  await start()
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      await Promise.all(groups.map(g => g.mark()))
      await sleep(500)
      const windows = await Promise.all(groups.map(g => g.collect()))
      if (settled(windows) || Date.now() > deadline) break
    }
  } finally {
    await stop()
  }
  await sleep(300)
}
