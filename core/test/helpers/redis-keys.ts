import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { closeClient } from '../../src/engines/redis/redis-connection.js'
import { closeAdmin, openAdmin, REDIS_URL, testPrefix } from '../engines/redis/redis-test-kit.js'

/** The Redis keys of one BullMQ test file: see {@link bullmqTestKeys}. */
export interface BullmqTestKeys {
  /** The random prefix every key of the file lives under. */
  readonly prefix: string
  /** The file's admin connection (inspecting keys); closed, after deleting every key under `prefix`, when the file ends. */
  readonly admin: Redis
  /** Every queue name {@link BullmqTestKeys.newQueueName} returned so far: BullMQ's keys are `<prefix>:<queueName>:…`. */
  readonly queueNames: readonly string[]
  /** A fresh queue name `<tag>-<8 hex>`, remembered in {@link BullmqTestKeys.queueNames}. */
  newQueueName(): string
}

/**
 * Sets up the keys of a BullMQ test file: a random prefix from `label`, an admin connection that
 * deletes every key under it (SCAN + DEL) and quits when `t` ends, and queue names tagged `queueTag`.
 */
export function bullmqTestKeys(t: Test, label: string, queueTag: string): BullmqTestKeys {
  const prefix = testPrefix(label)
  const admin = openAdmin()
  t.teardown(() => closeAdmin(admin, prefix))
  const queueNames: string[] = []
  const newQueueName = (): string => {
    const name = `${queueTag}-${randomUUID().slice(0, 8)}`
    queueNames.push(name)
    return name
  }
  return { prefix, admin, queueNames, newQueueName }
}

/**
 * A client named `connectionName` as the app would pass it (workers need
 * `maxRetriesPerRequest: null`, the default here), quit when `t` ends.
 */
export function connectWorkerClient(
  t: Test,
  connectionName: string,
  options: { maxRetriesPerRequest?: number | null } = { maxRetriesPerRequest: null },
): Redis {
  const client = new Redis(REDIS_URL, { ...options, connectionName })
  t.teardown(() => closeClient(client))
  return client
}

/** Every key matching one of `patterns` (SCAN, each pattern in turn) that is not under `prefix`. */
export async function keysOutsidePrefix(admin: Redis, prefix: string, patterns: readonly string[]): Promise<string[]> {
  const elsewhere: string[] = []
  for (const pattern of patterns) {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      elsewhere.push(...keys.filter((key) => !key.startsWith(`${prefix}:`)))
      cursor = next
    } while (cursor !== '0')
  }
  return elsewhere
}
