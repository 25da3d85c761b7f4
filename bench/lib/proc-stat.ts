import { readdirSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

/** Kernel clock ticks per second (`getconf CLK_TCK`; 100 on Linux x86-64). */
export const CLOCK_TICKS = readClockTicks()

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
}

/** The fields of `/proc/<pid>/stat` the benchmarks use. */
export interface ProcStat {
  pid: number
  ppid: number
  /** utime + stime + cutime + cstime, in clock ticks (own CPU plus that of reaped children). */
  ticks: number
  /** Resident set size in bytes. */
  rssBytes: number
}

const PAGE_SIZE = 4096

/** Reads `/proc/<pid>/stat`; undefined when the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state): field n is fields[n - 3].
  const ppid = Number(fields[1])
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
  const rssBytes = Number(fields[21]) * PAGE_SIZE
  return { pid, ppid, ticks, rssBytes }
}

/** Pids of `root` and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    const stat = readStat(pid)
    if (!stat) continue
    const list = children.get(stat.ppid)
    if (list) list.push(pid)
    else children.set(stat.ppid, [pid])
  }
  const tree: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.pop()!
    tree.push(pid)
    for (const child of children.get(pid) ?? []) queue.push(child)
  }
  return tree
}

/**
 * CPU time (user + system, children included) of every process in the trees rooted at
 * `roots`, in microseconds, read from `/proc/<pid>/stat` (10 ms resolution at 100 Hz).
 */
export function treeCpuMicros(roots: readonly number[]): number {
  let ticks = 0
  for (const root of roots) for (const pid of processTree(root)) ticks += readStat(pid)?.ticks ?? 0
  return (ticks * 1e6) / CLOCK_TICKS
}

/** Resident set size of one process in bytes (0 when it is gone). */
export function rssBytes(pid: number): number {
  return readStat(pid)?.rssBytes ?? 0
}

/** The kernel's TCP socket memory (`/proc/net/sockstat` `TCP mem`, pages → bytes) and sockets in use. */
export function tcpSockstat(): { inUse: number; memBytes: number } {
  try {
    const line = readFileSync('/proc/net/sockstat', 'utf8')
      .split('\n')
      .find(l => l.startsWith('TCP:'))
    const inUse = Number(/inuse (\d+)/.exec(line ?? '')?.[1] ?? 0)
    const mem = Number(/mem (\d+)/.exec(line ?? '')?.[1] ?? 0)
    return { inUse, memBytes: mem * PAGE_SIZE }
  } catch {
    return { inUse: 0, memBytes: 0 }
  }
}
