import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import t, { type Test } from 'tap'
import { applyMigrations, MIGRATIONS_DIR } from '../../../src/engines/prisma/migrate.js'
import { dropSchema, randomSchemaName, sql, TEST_DATABASE_URL } from '../../helpers/postgres-schema.js'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
/** Every committed migration, in the order they apply. */
const ALL = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
const TABLES = ['_prisma_migrations', 'cursors', 'dead_letters', 'messages', 'room_members', 'rooms', 'streams']

/** A fresh schema name, dropped when `t` ends. */
function freshSchema(t: Test): string {
  const schema = randomSchemaName()
  t.teardown(() => dropSchema(schema))
  return schema
}

async function tables(schema: string): Promise<string[]> {
  const { rows } = await sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema])
  return rows.map((row: { table_name: string }) => row.table_name)
}

/**
 * A database of its own for one Prisma CLI run, dropped when `t` ends. The CLI takes a
 * database-wide advisory lock and holds it until its process exits (~11 s), so runs on a shared
 * database (two at once here, or other test files' migrations) time out waiting for each other.
 */
async function freshDatabase(t: Test): Promise<string> {
  const name = `sb_migrate_${randomSchemaName().slice('sb_test_'.length)}`
  await sql(`CREATE DATABASE ${name}`)
  t.teardown(() => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** Runs `text` on a short-lived connection to `databaseUrl`. */
async function sqlOn(databaseUrl: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return await client.query(text)
  } finally {
    await client.end()
  }
}

/** Runs the Prisma CLI from the repository root against `schema` of `databaseUrl`; resolves with its output. */
async function prisma(databaseUrl: string, schema: string, ...args: string[]): Promise<string> {
  const url = new URL(databaseUrl)
  url.searchParams.set('schema', schema)
  const cli = join(ROOT, 'node_modules', 'prisma', 'build', 'index.js')
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: url.toString(),
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
      // Each run has a database of its own (see freshDatabase), so the lock protects nothing.
      PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK: '1',
    },
  })
  return stdout + stderr
}

t.test('applyMigrations', async (t) => {
  t.test('creates the schema and every table on an empty database, then is idempotent', async (t) => {
    const schema = freshSchema(t)
    t.ok(ALL.includes('20261125201305_init'), 'the first migration is committed')
    t.same(await applyMigrations({ connectionString: TEST_DATABASE_URL, schema }), { applied: ALL, alreadyApplied: [] })
    const created = await tables(schema)
    t.ok(TABLES.every((table) => created.includes(table)), 'every table exists', { created })
    const keys = await sql(`SELECT conname FROM pg_constraint WHERE conrelid = '"${schema}".messages'::regclass AND contype = 'f'`)
    t.same(keys.rows, [], 'messages has no foreign key: the append statement creates the stream row itself')
    t.same(await applyMigrations({ connectionString: TEST_DATABASE_URL, schema }), { applied: [], alreadyApplied: ALL }, 'again: nothing to do')
    const url = `${TEST_DATABASE_URL}?schema=${schema}`
    t.same(await applyMigrations({ connectionString: url }), { applied: [], alreadyApplied: ALL }, 'the schema may come from ?schema=')
  })

  t.test('concurrent calls from many processes apply each migration once', async (t) => {
    const schema = freshSchema(t)
    const reports = await Promise.all(Array.from({ length: 4 }, () => applyMigrations({ connectionString: TEST_DATABASE_URL, schema })))
    t.equal(reports.filter((r) => r.applied.length === ALL.length).length, 1, 'one call applied them')
    t.equal(reports.filter((r) => r.alreadyApplied.length === ALL.length).length, 3, 'the others found them applied')
    const { rows } = await sql(`SELECT count(*)::int AS n FROM "${schema}"."_prisma_migrations"`)
    t.equal(rows[0]?.n, ALL.length, 'each recorded once')
  })

  t.test('records migrations exactly as prisma migrate deploy does, in both directions', async (t) => {
    // The CLI's WebAssembly engine leaves a 10 s timer behind, so each run takes ~11 s: run both at once.
    const [oursDb, theirsDb] = [await freshDatabase(t), await freshDatabase(t)]
    const [ours, theirs] = ['ours', 'theirs']
    await applyMigrations({ connectionString: oursDb, schema: ours })
    const [deployOurs, deployTheirs] = await Promise.all([prisma(oursDb, ours, 'migrate', 'deploy'), prisma(theirsDb, theirs, 'migrate', 'deploy')])
    t.match(deployOurs, /No pending migrations to apply/, 'prisma sees ours as applied')
    t.match(deployTheirs, /All migrations have been successfully applied/)
    t.same(await applyMigrations({ connectionString: theirsDb, schema: theirs }), { applied: [], alreadyApplied: ALL }, 'we see prisma\'s as applied')
    const checksums = async (databaseUrl: string, schema: string): Promise<unknown[]> =>
      (await sqlOn(databaseUrl, `SELECT migration_name, checksum, applied_steps_count FROM "${schema}"."_prisma_migrations"`)).rows
    t.same(await checksums(oursDb, ours), await checksums(theirsDb, theirs), 'same name, checksum and step count')
  })

  t.test('a failing migration leaves nothing behind and is retried by the next call', async (t) => {
    const schema = freshSchema(t)
    const dir = await mkdtemp(join(tmpdir(), 'sb-migrations-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const write = async (name: string, body: string): Promise<void> => {
      await mkdir(join(dir, name), { recursive: true })
      await writeFile(join(dir, name, 'migration.sql'), body)
    }
    await write('1_first', 'CREATE TABLE one (id int);')
    await write('2_broken', 'CREATE TABLE two (id int);\nSELECT no_such_function();')
    await t.rejects(applyMigrations({ connectionString: TEST_DATABASE_URL, schema, migrationsDir: dir }), {
      code: 'INTERNAL',
      message: /2_broken/,
    })
    t.same(await tables(schema), ['_prisma_migrations', 'one'], 'the first stays applied; nothing of the broken one')
    await write('2_broken', 'CREATE TABLE two (id int);')
    t.same(await applyMigrations({ connectionString: TEST_DATABASE_URL, schema, migrationsDir: dir }), {
      applied: ['2_broken'],
      alreadyApplied: ['1_first'],
    })
  })

  t.test('bad input is CONFIG_INVALID; an unreachable server is INTERNAL', async (t) => {
    await t.rejects(applyMigrations({ connectionString: TEST_DATABASE_URL, schema: 'no spaces' }), { code: 'CONFIG_INVALID' })
    await t.rejects(applyMigrations({ connectionString: 'http://localhost/db' }), { code: 'CONFIG_INVALID' })
    await t.rejects(applyMigrations({ connectionString: TEST_DATABASE_URL, migrationsDir: '/nonexistent/migrations' }), {
      code: 'CONFIG_INVALID',
    })
    await t.rejects(applyMigrations({ connectionString: 'postgresql://postgres@127.0.0.1:1/postgres' }), { code: 'INTERNAL' })
  })
})

t.test('prisma/ › the generated client is built from the current schema.prisma', async (t) => {
  const schema = await readFile(join(ROOT, 'prisma', 'schema.prisma'), 'utf8')
  const generated = await readFile(join(ROOT, 'core', 'src', 'engines', 'prisma', 'generated', 'internal', 'class.ts'), 'utf8')
  const inline = /"inlineSchema": ("(?:[^"\\]|\\.)*")/.exec(generated)?.[1]
  t.ok(inline !== undefined, 'the generated client embeds its schema')
  t.ok(JSON.parse(inline ?? '""') === schema, 'it matches prisma/schema.prisma (else run `npx prisma generate`)')
  t.equal(MIGRATIONS_DIR, join(ROOT, 'prisma', 'migrations') + '/', 'MIGRATIONS_DIR is the committed folder')
})
