/**
 * Summarizes a V8 CPU profile (`--cpu-prof`, or `npm run bench -- --cpu-prof <dir>`): the
 * functions with the most self time, and self time per file.
 *
 *   node --import tsx bench/report/profile-summary.ts <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Self time (µs) per function and per file of `profile`. */
export function selfTimes(profile: Profile): { functions: Map<string, number>; files: Map<string, number>; totalUs: number } {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const functions = new Map<string, number>()
  const files = new Map<string, number>()
  let totalUs = 0
  for (const [id, us] of self) {
    const node = byId.get(id)!
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'node_modules/').replace(/^\/work\/main\//, '')
    const fn = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
    functions.set(fn, (functions.get(fn) ?? 0) + us)
    files.set(file || functionName, (files.get(file || functionName) ?? 0) + us)
    totalUs += us
  }
  return { functions, files, totalUs }
}

function top(map: Map<string, number>, n: number, totalUs: number): string {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`)
    .join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2]
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]')
  const n = Number(process.argv[3] ?? 30)
  const { functions, files, totalUs } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile)
  console.log(`total ${(totalUs / 1000).toFixed(0)} ms\n\nself time by function:\n${top(functions, n, totalUs)}\n\nself time by file:\n${top(files, n, totalUs)}`)
}
