import { readdir, readFile } from 'node:fs/promises'

/** The handle types {@link openHandlesSince} watches: sockets, servers, pipes and child processes. */
const WATCHED = ['TCPSocketWrap', 'TCPServerWrap', 'ProcessWrap', 'PipeWrap']

/**
 * Takes the baseline now (call it before the tests, so the test runner's own handles are in it)
 * and returns a function listing the sockets, servers, pipes and child processes open at the time
 * of its call beyond that baseline.
 */
export function openHandlesSince(): () => string[] {
  const baseline = process.getActiveResourcesInfo()
  return () => {
    const left = process.getActiveResourcesInfo().filter(type => WATCHED.includes(type))
    for (const type of baseline) {
      const i = left.indexOf(type)
      if (i !== -1) left.splice(i, 1)
    }
    return left
  }
}

/** Command lines of running processes that contain `text` (Linux `/proc`). */
export async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.replaceAll('\0', ' ').includes(text)) found.push(`${entry}: ${cmdline.replaceAll('\0', ' ')}`)
  }
  return found
}
