import { loadOptionsFromEnv, SwitchboardError, type SwitchboardOptionsInput } from '@switchboard/core'

/** The development-only JWT secret used when `SWITCHBOARD_JWT_SECRET` is unset outside production. */
export const DEV_JWT_SECRET = 'switchboard-dev-secret-change-me'

/** The example app's configuration, from the environment (EXAMPLE-APP.md, "Configuration"). */
export interface AppConfig {
  /** HTTP and WebSocket port. Default 3000. */
  port: number
  /** Host to bind. Default `0.0.0.0`. */
  host: string
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
  return { port: parsePort(env.PORT), host: env.HOST?.trim() || '0.0.0.0', switchboard, warnings }
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 3000
  const port = Number(raw.trim())
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new SwitchboardError('CONFIG_INVALID', `PORT=${JSON.stringify(raw)}: expected an integer port 0..65535`)
  }
  return port
}
