import { readFileSync } from 'node:fs'

/** The machine's CPU time counters from the first line of `/proc/stat` (clock ticks, every core together). */
export interface CpuTimes {
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is already in user). */
  total: number
  /** Time the hypervisor ran other guests while this one had work: CPU this machine wanted and did not get. */
  steal: number
}

/** Reads {@link CpuTimes}; undefined where `/proc/stat` is missing or has no steal column. */
export function readCpuTimes(): CpuTimes | undefined {
  let line: string
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  } catch {
    return undefined
  }
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
  if (fields.length < 8 || fields.some(n => !Number.isFinite(n))) return undefined
  return { total: fields.reduce((sum, n) => sum + n, 0), steal: fields[7]! }
}

/**
 * The share of the machine's CPU time stolen between two readings, in percent (one decimal):
 * on a shared virtual machine, the hypervisor giving other guests this one's cores. A few
 * percent makes absolute figures drift; then only the ratios of one run compare.
 */
export function stealPercent(from: CpuTimes | undefined, to: CpuTimes | undefined): number | undefined {
  if (from === undefined || to === undefined || !(to.total > from.total)) return undefined
  return Math.round(((to.steal - from.steal) / (to.total - from.total)) * 1000) / 10
}
