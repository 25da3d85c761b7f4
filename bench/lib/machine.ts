import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { createRequire } from 'node:module'

/** The machine, software versions and kernel settings a run was measured with. */
export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  kernel: string
  /** 1-minute load average when the run started (other work on a shared machine shows here). */
  loadAverageAtStart: number
  node: string
  versions: Record<string, string>
  settings: Record<string, string>
}

const require = createRequire(import.meta.url)

function packageVersion(name: string): string {
  // Some packages (engine.io) do not export package.json: find it next to the entry point.
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    try {
      const entry = require.resolve(name)
      const root = entry.slice(0, entry.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length)
      return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version
    } catch {
      return 'unknown'
    }
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().replace(/\s+/g, ' ')
  } catch {
    return 'unknown'
  }
}

function shell(command: string): string {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

/** Collects {@link MachineInfo}; `services` adds the PostgreSQL and Redis server versions. */
export function machineInfo(services: Record<string, string> = {}): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    node: process.version,
    versions: {
      ws: packageVersion('ws'),
      'socket.io': packageVersion('socket.io'),
      'engine.io': packageVersion('engine.io'),
      '@switchboard/core': (JSON.parse(readFileSync(new URL('../../core/package.json', import.meta.url), 'utf8')) as { version: string }).version,
      '@prisma/client': packageVersion('@prisma/client'),
      pg: packageVersion('pg'),
      ioredis: packageVersion('ioredis'),
      ...services,
    },
    settings: {
      'ulimit -n (open files per process)': shell('ulimit -n'),
      'fs.file-max': read('/proc/sys/fs/file-max'),
      'fs.nr_open': read('/proc/sys/fs/nr_open'),
      'net.core.somaxconn': read('/proc/sys/net/core/somaxconn'),
      'net.ipv4.ip_local_port_range': read('/proc/sys/net/ipv4/ip_local_port_range'),
      'net.ipv4.tcp_rmem': read('/proc/sys/net/ipv4/tcp_rmem'),
      'net.ipv4.tcp_wmem': read('/proc/sys/net/ipv4/tcp_wmem'),
      'net.ipv4.tcp_mem (pages)': read('/proc/sys/net/ipv4/tcp_mem'),
    },
  }
}
