/**
 * @switchboard/core/prisma — the PostgreSQL engines, through Prisma. A subpath of its own so
 * that apps running only memory engines never load the Prisma client.
 */
export { PrismaMessageStore } from './prisma-message-store.js'
export type { PrismaMessageStoreOptions, PrismaMessageStoreStats } from './prisma-message-store.js'
export { createPrismaClient, disconnectPrismaClient } from './create-prisma-client.js'
export type { CreatePrismaClientOptions, PrismaClient } from './create-prisma-client.js'
export { applyMigrations, MIGRATIONS_DIR } from './migrate.js'
export type { ApplyMigrationsOptions, MigrationReport } from './migrate.js'
export type { PostgresConnectionOptions } from './postgres-connection.js'
