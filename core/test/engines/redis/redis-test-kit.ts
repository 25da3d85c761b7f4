import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { closeClient } from '../../../src/engines/redis/redis-connection.js'

/** The Redis the tests run against. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix of its own for one test file, so runs never see each other's keys. */
export function testPrefix(label: string): string {
  return `sbtest:${label}:${randomUUID().slice(0, 8)}`
}

/** A connection for the test itself (inspecting keys, killing clients); close it with {@link closeAdmin}. */
export function openAdmin(): Redis {
  return new Redis(REDIS_URL, { connectionName: 'sbtest-admin' })
}

/** Deletes every key under `prefix` (SCAN + DEL), then quits the admin connection. */
export async function closeAdmin(admin: Redis, prefix: string): Promise<void> {
  await deleteKeys(admin, prefix)
  await closeClient(admin)
}

/** Deletes every key under `prefix` with SCAN + DEL; resolves with how many there were. */
export async function deleteKeys(admin: Redis, prefix: string): Promise<number> {
  const keys = await scanKeys(admin, prefix)
  if (keys.length > 0) await admin.del(...keys)
  return keys.length
}

/** Every key under `prefix`, sorted. */
export async function scanKeys(admin: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys.sort()
}

/** The ids of the server's clients named `name` (CLIENT LIST). */
export async function clientIds(admin: Redis, name: string): Promise<string[]> {
  const list = (await admin.client('LIST')) as string
  return list
    .split('\n')
    .filter((line) => line.split(' ').includes(`name=${name}`))
    .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1] ?? '')
    .filter((id) => id !== '')
}

/** Kills the server's clients named `name` (CLIENT KILL ID), as a network failure would; resolves with how many. */
export async function killClients(admin: Redis, name: string): Promise<number> {
  let killed = 0
  for (const id of await clientIds(admin, name)) killed += Number(await admin.client('KILL', 'ID', id))
  return killed
}
