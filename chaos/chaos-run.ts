import { randomBytes } from 'node:crypto'
import { freePort, startEmbeddedPostgres, startRedisServer } from '@switchboard/core/testing'
import { applyMigrations } from '@switchboard/core/prisma'
import { signDevToken } from '@switchboard/core'
import { Balancer } from './balancer.js'
import { ChaosUser } from './chaos-user.js'
import { NodeFleet } from './node-fleet.js'
import { verify, type ChaosReport } from './verify.js'

/** The size of a chaos run. */
export interface ChaosPlan {
  /** Simulated users (one SDK connection each). */
  users: number
  /** Members per room (each user is in two rooms). */
  roomSize: number
  /** Messages each user publishes, spread over its rooms and its DM. */
  messagesPerUser: number
  /** Rounds of faults; each round injects every kind once, in turn. */
  faultRounds: number
  /** Fraction of client sockets cut at each drop. */
  dropFraction: number
  /** Seed of the run's random choices. */
  seed: number
}

/** Plans by name: `short` runs inside `npm test`, `quick` under 3 minutes, `full` the default. */
export const PLANS: Record<'short' | 'quick' | 'full', ChaosPlan> = {
  short: { users: 60, roomSize: 12, messagesPerUser: 25, faultRounds: 1, dropFraction: 0.2, seed: 1 },
  quick: { users: 200, roomSize: 20, messagesPerUser: 50, faultRounds: 1, dropFraction: 0.15, seed: 1 },
  full: { users: 300, roomSize: 20, messagesPerUser: 120, faultRounds: 3, dropFraction: 0.15, seed: 1 },
}

const SECRET = `chaos-${randomBytes(8).toString('hex')}`
const NODES = 3

/** A seeded PRNG (mulberry32), so a run's choices repeat. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Runs the chaos scenario: its own `redis-server` and embedded PostgreSQL on free ports, three
 * example-app nodes behind a TCP balancer, `plan.users` SDK clients over rooms and DMs publishing
 * while nodes are SIGKILLed and restarted, Redis is restarted empty, PostgreSQL is restarted and
 * client sockets are cut; then checks every delivery. `log` receives progress lines.
 */
export async function runChaos(plan: ChaosPlan, log: (line: string) => void = () => {}): Promise<ChaosReport> {
  const random = seeded(plan.seed)
  const started = Date.now()
  const cleanups: (() => Promise<unknown>)[] = []
  try {
    const redis = await startRedisServer()
    cleanups.push(() => redis.stop())
    const postgres = await startEmbeddedPostgres()
    cleanups.push(() => postgres.stop())
    await applyMigrations({ connectionString: postgres.url })
    log(`services: redis ${redis.url}, postgres port ${postgres.port}`)

    const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()))
    const fleet = new NodeFleet(ports, {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      SWITCHBOARD_REDIS_PREFIX: 'chaos',
      SWITCHBOARD_JWT_SECRET: SECRET,
      SWITCHBOARD_PRESENCE_TTL_MS: '3000',
      SWITCHBOARD_ACK_TIMEOUT_MS: '2000',
      SWITCHBOARD_RATE_LIMIT: '10000',
      SWITCHBOARD_HANDSHAKE_RATE: '0',
      NODE_ENV: 'development',
    })
    cleanups.push(() => fleet.stopAll())
    await fleet.startAll()
    const balancer = new Balancer(ports)
    const url = `ws://127.0.0.1:${await balancer.listen()}/ws`
    cleanups.push(() => balancer.close())
    log(`nodes: ${ports.join(', ')} behind ${url}`)

    // Users, rooms of roomSize members (each user in two), one DM partner each.
    const names = Array.from({ length: plan.users }, (_, i) => `u${String(i).padStart(4, '0')}`)
    const roomCount = Math.max(1, Math.floor((plan.users * 2) / plan.roomSize))
    const roomsOf = new Map<string, string[]>(names.map(name => [name, []]))
    const creator = await signDevToken(SECRET, 'chaos-admin', { expiresInSec: 3600 })
    for (let r = 0; r < roomCount; r++) {
      const members = Array.from({ length: plan.roomSize }, (_, k) => names[(r * (plan.roomSize / 2) + k) % names.length]!)
      const unique = [...new Set(members)]
      const res = await fetch(`http://127.0.0.1:${ports[0]}/api/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${creator}` },
        body: JSON.stringify({ name: `chaos room ${r}`, members: unique }),
      })
      if (res.status !== 201) throw new Error(`creating a room failed: ${res.status} ${await res.text()}`)
      const { room } = (await res.json()) as { room: { channel: string } }
      for (const member of unique) roomsOf.get(member)!.push(room.channel)
    }
    const dmOf = (i: number): string => {
      const partner = i % 2 === 0 ? (i + 1) % names.length : i - 1
      const [a, b] = [names[i]!, names[partner]!].sort()
      return `dm:${a}:${b}`
    }
    const users = names.map(name => new ChaosUser(name, url, SECRET))
    cleanups.push(() => Promise.all(users.map(user => user.close().catch(() => undefined))))
    for (let i = 0; i < users.length; i += 50) {
      await Promise.all(users.slice(i, i + 50).map((user, k) => user.start([...roomsOf.get(user.name)!, dmOf(i + k)])))
    }
    log(`${users.length} users connected: ${roomCount} rooms of ${plan.roomSize}, ${users.length / 2} DMs`)

    // Publish while the faults run.
    const faults: Record<string, number> = { 'node killed': 0, 'redis restarted': 0, 'postgres restarted': 0, 'sockets dropped': 0 }
    let publishing = true
    const publishers = users.map(async (user, i) => {
      const channels = [...roomsOf.get(user.name)!, dmOf(i)]
      for (let n = 0; n < plan.messagesPerUser; n++) {
        await user.publish(channels[n % channels.length]!, `${user.name}#${n}`)
        // Spread the load over the fault schedule.
        await new Promise(resolve => setTimeout(resolve, 20 + random() * 40))
      }
    })
    const schedule = (async () => {
      const pause = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 1500 + random() * 1500))
      for (let round = 0; round < plan.faultRounds && publishing; round++) {
        await pause()
        const victim = Math.floor(random() * NODES)
        log(`fault: SIGKILL ${fleet.nodes[victim]!.id}`)
        await fleet.kill(victim)
        faults['node killed']! += 1
        await pause()
        await fleet.restart(victim)
        log(`fault: ${fleet.nodes[victim]!.id} is back`)
        await pause()
        const cut = balancer.dropRandom(Math.ceil(balancer.open * plan.dropFraction), random)
        faults['sockets dropped']! += cut
        log(`fault: cut ${cut} client sockets`)
        await pause()
        log('fault: restart Redis (empty)')
        await redis.restart()
        faults['redis restarted']! += 1
        await pause()
        log('fault: restart PostgreSQL (SIGKILL, crash recovery)')
        await postgres.restart()
        faults['postgres restarted']! += 1
      }
    })()
    await Promise.all(publishers)
    publishing = false
    await schedule
    log(`publishing done after ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for deliveries`)

    const report = await verify({ users, postgresUrl: postgres.url, faults, crashes: fleet.crashes, started, log })
    log('stopping the nodes (SIGTERM)')
    const codes = await fleet.stopAll()
    if (codes.some(code => code !== 0)) report.crashes.push(`a node did not shut down cleanly: exit codes ${codes.join(', ')}`)
    return report
  } finally {
    log('cleaning up')
    for (const cleanup of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>(resolve => {
        timer = setTimeout(() => {
          log(`a cleanup step hung: ${cleanup.toString().slice(0, 80)}`)
          resolve()
        }, 20_000)
      })
      await Promise.race([cleanup().catch(() => undefined), timeout])
      clearTimeout(timer)
    }
    log('done')
  }
}
