import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { BenchResults, Summary } from './results.js'

/**
 * One full run as kept in bench/results/history.json: the summary with the machine it was
 * measured on, so runs can be compared across commits and machines in one place (latest.json
 * holds the newest run only; its earlier versions are in git).
 */
export interface HistoryEntry {
  generatedAt: string
  /** The commit measured, as in `BenchResults.commit`; absent for runs that predate that field. */
  commit?: string
  /** For runs without `commit`: the commit that added their results to the repository. */
  committedIn?: string
  durationSec: number
  machine: { cpuModel: string; cores: number; memoryGiB: number; node: string; loadAverageAtStart: number }
  /** CPU steal over the run, in percent of the machine's CPU time; absent when not measured. */
  steal?: number
  /**
   * The machine's speed as the floor saw it: bare ws's server CPU per delivery (µs) at the lowest
   * fan-out step of the smallest room; absent when not measured.
   */
  wsCpuPerDeliveryUs?: number
  summary: Summary
}

/** Bare ws's server CPU per delivery at the lowest fan-out step of the smallest room (see {@link HistoryEntry}). */
export function floorCpuPerDelivery(r: Pick<BenchResults, 'fanout'>): number | undefined {
  const rooms = Object.keys(r.fanout?.byRoomSize ?? {}).sort((a, b) => Number(a) - Number(b))
  const steps = rooms.length ? r.fanout!.byRoomSize[rooms[0]!]?.ws?.steps : undefined
  return steps?.[0]?.serverCpuPerDeliveryUs
}

/** The history entry of a run's results. */
export function historyEntry(r: BenchResults): HistoryEntry {
  const { cpuModel, cores, memoryGiB, node, loadAverageAtStart } = r.machine
  const floor = floorCpuPerDelivery(r)
  return {
    generatedAt: r.generatedAt,
    ...(r.commit === undefined ? {} : { commit: r.commit }),
    durationSec: r.durationSec,
    machine: { cpuModel, cores, memoryGiB, node, loadAverageAtStart },
    ...(r.steal === undefined ? {} : { steal: r.steal.run }),
    ...(floor === undefined ? {} : { wsCpuPerDeliveryUs: floor }),
    summary: r.summary,
  }
}

/** Whether a run goes into the history: full runs of every scenario (quick and `--only` runs are smoke tests). */
export function belongsInHistory(r: BenchResults, allScenarios: readonly string[]): boolean {
  return r.mode === 'full' && allScenarios.every(name => r.scenarios.includes(name))
}

/** The entries of the history file at `path`, oldest first; none when the file does not exist. */
export function readHistory(path: string): HistoryEntry[] {
  if (!existsSync(path)) return []
  const entries = JSON.parse(readFileSync(path, 'utf8')) as unknown
  if (!Array.isArray(entries)) throw new Error(`${path}: expected a JSON array of runs`)
  return entries as HistoryEntry[]
}

/** `history` with `entry` added (replacing an entry of the same run), oldest first. */
export function withEntry(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return [...history.filter(e => e.generatedAt !== entry.generatedAt), entry].sort((a, b) => a.generatedAt.localeCompare(b.generatedAt))
}

/** Writes `history` to `path` (through a temporary file, so a crash leaves the old file whole). */
export function writeHistory(path: string, history: readonly HistoryEntry[]): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(history, null, 2) + '\n')
  renameSync(`${path}.tmp`, path)
}
