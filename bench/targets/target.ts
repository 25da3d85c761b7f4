import { spawnChild, type BenchChild } from '../lib/procs.js'
import type { SwitchboardTargetConfig, TargetName } from './target-config.js'

/** A server under test, running in its own process. */
export interface RunningTarget {
  readonly name: TargetName
  /** Label in reports, e.g. `switchboard` or `switchboard (prisma)`. */
  readonly label: string
  readonly child: BenchChild
  /** Root pid of the server's process tree (its CPU is read from /proc). */
  readonly pid: number
  /** WebSocket URL clients connect to. */
  readonly url: string
}

/** Options of {@link startTarget}. */
export interface StartTargetOptions {
  /** Switchboard engines and settings. Default memory engines. */
  switchboard?: SwitchboardTargetConfig
  /** Write a V8 CPU profile (`--cpu-prof`) of the server into this folder. Default `BENCH_CPU_PROF`, else none. */
  cpuProfDir?: string
  /** Label in reports. Default the target name. */
  label?: string
  /** More node flags for this server alone (after `BENCH_SERVER_NODE_FLAGS`). */
  nodeFlags?: string[]
}

const ENTRIES: Record<TargetName, string> = {
  ws: 'targets/ws-server.ts',
  socketio: 'targets/socketio-server.ts',
  switchboard: 'targets/switchboard-server.ts',
}

/**
 * Starts the server of `name` in a child process (with `--expose-gc`, so memory can be read
 * after a full GC) and resolves once it listens.
 */
export async function startTarget(name: TargetName, options: StartTargetOptions = {}): Promise<RunningTarget> {
  // BENCH_SERVER_NODE_FLAGS: more flags for every server alike, e.g. `--perf-basic-prof` to read `perf record` samples of JIT code.
  const flags = ['--expose-gc', ...(process.env['BENCH_SERVER_NODE_FLAGS']?.split(/\s+/).filter(Boolean) ?? []), ...(options.nodeFlags ?? [])]
  const profDir = options.cpuProfDir ?? process.env['BENCH_CPU_PROF']
  // One folder per server: V8 writes a profile per thread (tsx's loader runs in a worker thread).
  if (profDir) flags.push('--cpu-prof', `--cpu-prof-dir=${profDir}/${options.label ?? name}-${Date.now()}`)
  const child = await spawnChild(`target:${options.label ?? name}`, ENTRIES[name], {
    nodeFlags: flags,
    env: options.switchboard ? { BENCH_TARGET: JSON.stringify(options.switchboard) } : {},
  })
  return { name, label: options.label ?? name, child, pid: child.pid, url: String(child.info['url']) }
}
