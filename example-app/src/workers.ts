import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '@switchboard/core'

/** Set in a worker's environment: the primary already applied migrations and started services. */
export const WORKER_ENV = 'SWITCHBOARD_CLUSTER_WORKER'

/** What the primary tells its workers, through their environment. */
export interface WorkerEnvironment {
  /** The PostgreSQL URL (the embedded server's when the primary started one). */
  databaseUrl: string
  /** The node id workers derive theirs from: `<base>-w<n>`. */
  nodeIdBase: string
}

/** Delay before restarting a worker that crashed, doubled per crash in a row, at most this (ms). */
const MAX_RESTART_DELAY_MS = 30_000

/**
 * Runs the cluster primary of `SWITCHBOARD_WORKERS`: forks `count` workers (each a full node on
 * the same PostgreSQL and Redis, sharing the listening port through `node:cluster`), restarts
 * one that exits unexpectedly (1 s, doubling to 30 s for repeated crashes), and on
 * SIGTERM/SIGINT asks every worker to shut down gracefully, waits for them all, runs `stopped`
 * (stop the services the primary started) and resolves.
 */
export function runPrimary(count: number, environment: WorkerEnvironment, logger: Logger, stopped: () => Promise<void>): Promise<void> {
  let stopping = false
  let crashesInARow = 0
  const fork = (n: number): Worker => {
    const worker = cluster.fork({
      [WORKER_ENV]: '1',
      DATABASE_URL: environment.databaseUrl,
      SWITCHBOARD_NODE_ID: `${environment.nodeIdBase}-w${n}`,
    })
    worker.once('listening', () => {
      crashesInARow = 0
    })
    worker.once('exit', (code, signal) => {
      if (stopping) return
      crashesInARow += 1
      const delay = Math.min(1000 * 2 ** (crashesInARow - 1), MAX_RESTART_DELAY_MS)
      logger.error({ worker: n, code, signal, restartInMs: delay }, 'worker exited; restarting it')
      setTimeout(() => {
        if (!stopping) fork(n)
      }, delay).unref()
    })
    return worker
  }
  for (let n = 1; n <= count; n++) fork(n)
  logger.info({ workers: count }, 'cluster primary started its workers')

  return new Promise<void>(resolve => {
    const stop = async (signal: NodeJS.Signals): Promise<void> => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'stopping the workers')
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined)
      await Promise.all(
        workers.map(
          worker =>
            new Promise<void>(done => {
              if (worker.isDead()) return done()
              worker.once('exit', () => done())
              // A terminal's Ctrl-C reaches the workers too; a SIGTERM to the primary alone must be passed on.
              worker.process.kill('SIGTERM')
            }),
        ),
      )
      await stopped()
      resolve()
    }
    process.on('SIGTERM', () => void stop('SIGTERM'))
    process.on('SIGINT', () => void stop('SIGINT'))
  })
}
