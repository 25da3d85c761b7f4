import { pino, type Logger } from 'pino'

export type { Logger } from 'pino'

/**
 * Creates the structured (JSON) logger used by Switchboard. `level` defaults to the
 * `LOG_LEVEL` environment variable, else `info`.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } })
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
