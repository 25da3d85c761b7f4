import { SwitchboardError } from '../../errors.js'

/** Where a PostgreSQL-backed engine connects. */
export interface PostgresConnectionOptions {
  /**
   * A PostgreSQL URL, e.g. `postgresql://user:pass@127.0.0.1:5432/app`. A `?schema=name`
   * parameter (Prisma's convention) is understood like the `schema` option, which wins over it.
   */
  readonly connectionString: string
  /**
   * The PostgreSQL schema holding Switchboard's tables (it becomes the connection's
   * `search_path`). Lower-case letters, digits and `_`, starting with a letter or `_`, at most
   * 63 characters. Default: the server's `search_path` (normally `public`).
   */
  readonly schema?: string
}

/** A connection string ready for `pg`, and the schema it selects. */
export interface ResolvedPostgresConnection {
  /** The URL without `schema`, with `options=-c search_path=…` added when a schema is selected. */
  readonly connectionString: string
  /** The selected schema, or `undefined` for the server's default `search_path`. */
  readonly schema: string | undefined
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * Validates `options` and turns them into a `pg` connection string that selects the schema
 * through the connection's startup `options` (so every pooled connection, and raw SQL with
 * unqualified table names, sees Switchboard's tables). Throws `CONFIG_INVALID` naming the
 * value when the URL is not a `postgres:`/`postgresql:` URL or the schema name is not allowed.
 */
export function resolvePostgresConnection(options: PostgresConnectionOptions): ResolvedPostgresConnection {
  let url: URL
  try {
    url = new URL(options.connectionString)
  } catch (error) {
    throw new SwitchboardError('CONFIG_INVALID', 'connectionString must be a PostgreSQL URL such as postgresql://user@127.0.0.1:5432/db.', {
      cause: error,
    })
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new SwitchboardError('CONFIG_INVALID', `connectionString must start with postgresql:// or postgres://, got ${url.protocol}//.`)
  }
  const schema = options.schema ?? url.searchParams.get('schema') ?? undefined
  url.searchParams.delete('schema')
  if (schema !== undefined) {
    if (!SCHEMA_NAME.test(schema)) {
      throw new SwitchboardError(
        'CONFIG_INVALID',
        `schema must be lower-case letters, digits and _ (starting with a letter or _, at most 63 characters), got ${JSON.stringify(schema)}.`,
      )
    }
    const existing = url.searchParams.get('options')
    url.searchParams.set('options', `${existing === null ? '' : `${existing} `}-c search_path=${schema}`)
  }
  return { connectionString: url.toString(), schema }
}

/** `name` as a double-quoted SQL identifier (only for names {@link resolvePostgresConnection} accepted). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
