/**
 * Prisma CLI configuration: the WebAssembly schema engine (`engine: 'js'`) driven through
 * `@prisma/adapter-pg`, so no native engine is ever downloaded. `DATABASE_URL` is used by the
 * commands that connect (`migrate deploy`, `migrate status`, and `migrate diff`, which only
 * reads); a `?schema=name` in it selects a PostgreSQL schema. `generate` needs no database.
 * The adapter gets discrete fields (not the URL) so that a shadow database, should
 * `migrate dev` ever be used, is created beside the main one. See docs/storage.md.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import { defineConfig } from 'prisma/config'

/** Stands in for an unset DATABASE_URL; a command that connects then fails naming this host. */
const OFFLINE = 'postgresql://set-database-url.invalid/unset'

// The schema's datasource names env("DATABASE_URL"), which the CLI resolves even for
// `generate` and `migrate diff`; without a value it fails and falls back to downloading engines.
process.env['DATABASE_URL'] ||= OFFLINE

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  async adapter() {
    const url = new URL(process.env['DATABASE_URL'] ?? OFFLINE)
    const schema = url.searchParams.get('schema') ?? undefined
    return new PrismaPg(
      {
        host: url.hostname,
        port: url.port === '' ? 5432 : Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: decodeURIComponent(url.pathname.slice(1)),
        // Lets the CLI exit as soon as it is done instead of waiting out idle pooled connections.
        allowExitOnIdle: true,
        ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
      },
      schema === undefined ? {} : { schema },
    )
  },
})
