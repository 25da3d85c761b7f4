import { availableParallelism } from 'node:os'
import { loadOptionsFromEnv, SwitchboardError, type SwitchboardOptionsInput } from '@switchboard/core'

/** The development-only JWT secret used when `SWITCHBOARD_JWT_SECRET` is unset outside production. */
export const DEV_JWT_SECRET = 'switchboard-dev-secret-change-me'

/** The example app's configuration, from the environment (EXAMPLE-APP.md, "Configuration"). */
export interface AppConfig {
  /** HTTP and WebSocket port. Default 3000. */
  port: number
  /** Host to bind. Default `0.0.0.0`. */
  host: string
  /** PostgreSQL URL; undefined means the embedded PostgreSQL in `.data/`. */
  databaseUrl: string | undefined
  /** Port of the embedded PostgreSQL (`SWITCHBOARD_EMBEDDED_PG_PORT`). Default 54329. */
  embeddedPostgresPort: number
  /** Redis URL. Default `redis://127.0.0.1:6379`. */
  redisUrl: string
  /** Prefix of every Redis key and channel, BullMQ's too. Default `sb`. */
  redisPrefix: string
  /** Worker processes (`SWITCHBOARD_WORKERS`: a count, or `auto` for one per core). Default 1. */
  workers: number
  /** How long a dead node's presence entries and registry entry live (`SWITCHBOARD_PRESENCE_TTL_MS`). Default 30000. */
  presenceTtlMs: number
  /** Options for the Switchboard node. */
  switchboard: SwitchboardOptionsInput
  /** Warnings to log once the logger exists (e.g. the development secret). */
  warnings: string[]
}

/**
 * Reads the app's configuration from `env`.
 * @throws SwitchboardError `CONFIG_INVALID` with one line naming the variable, its value and what was expected.
 */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const warnings: string[] = []
  const switchboard = loadOptionsFromEnv(env)
  if (!switchboard.jwt?.secret && !switchboard.jwt?.jwksUrl) {
    switchboard.jwt = { ...switchboard.jwt, secret: DEV_JWT_SECRET }
    warnings.push('SWITCHBOARD_JWT_SECRET is not set: using the development secret (never do this in production)')
  }
  return {
    port: parsePort('PORT', env.PORT, 3000),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl: parseUrl('DATABASE_URL', env.DATABASE_URL, ['postgres:', 'postgresql:']),
    embeddedPostgresPort: parsePort('SWITCHBOARD_EMBEDDED_PG_PORT', env.SWITCHBOARD_EMBEDDED_PG_PORT, 54329),
    redisUrl: parseUrl('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
    redisPrefix: parsePrefix(env.SWITCHBOARD_REDIS_PREFIX),
    workers: parseWorkers(env.SWITCHBOARD_WORKERS),
    presenceTtlMs: parseInteger('SWITCHBOARD_PRESENCE_TTL_MS', env.SWITCHBOARD_PRESENCE_TTL_MS, 30_000, 1_000, 3_600_000),
    switchboard,
    warnings,
  }
}

function parseUrl(name: string, raw: string | undefined, schemes: string[]): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined
  let url: URL | undefined
  try {
    url = new URL(raw.trim())
  } catch {
    url = undefined
  }
  if (!url || !schemes.includes(url.protocol)) {
    const shown = url?.password ? raw.replace(url.password, '***') : raw
    throw new SwitchboardError('CONFIG_INVALID', `${name}=${JSON.stringify(shown)}: expected a URL starting with ${schemes.map(s => `${s}//`).join(' or ')}`)
  }
  return raw.trim()
}

function parsePrefix(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return 'sb'
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw.trim())) {
    throw new SwitchboardError('CONFIG_INVALID', `SWITCHBOARD_REDIS_PREFIX=${JSON.stringify(raw)}: expected 1..64 letters, digits, _ or -`)
  }
  return raw.trim()
}

function parseWorkers(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 1
  if (raw.trim() === 'auto') return availableParallelism()
  return parseInteger('SWITCHBOARD_WORKERS', raw, 1, 1, 256, " or 'auto'")
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number, or = ''): number {
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw.trim())
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new SwitchboardError('CONFIG_INVALID', `${name}=${JSON.stringify(raw)}: expected an integer ${min}..${max}${or}`)
  }
  return value
}

function parsePort(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback
  const port = Number(raw.trim())
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new SwitchboardError('CONFIG_INVALID', `${name}=${JSON.stringify(raw)}: expected an integer port 0..65535`)
  }
  return port
}
