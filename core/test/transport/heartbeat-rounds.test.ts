import t from 'tap'
import { Heartbeat, heartbeatSlices, type HeartbeatPeer } from '../../src/transport/heartbeat.js'

/** A connection as the heartbeat sees it, recording what the heartbeat did to it. */
class Peer {
  closed = false
  pings = 0
  closedWith: number | undefined
  terminatedFor: string | undefined
  readonly socket = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    ping: (): void => {
      this.pings += 1
    },
  }

  constructor(public lastSeen: number) {}

  close(code: number): void {
    this.closed = true
    this.closedWith = code
  }

  terminate(reason: string): void {
    this.closed = true
    this.terminatedFor = reason
  }
}

const INTERVAL = 25_000
const SLICE = INTERVAL / heartbeatSlices(INTERVAL)

function setup(count: number, now = 0): { peers: Set<Peer>; heartbeat: Heartbeat } {
  const peers = new Set(Array.from({ length: count }, () => new Peer(now)))
  return { peers, heartbeat: new Heartbeat(peers as unknown as Set<HeartbeatPeer>, INTERVAL) }
}

/** Runs the ticks of one round on time, from `start`; returns the pings of each tick. */
function runRound(peers: Set<Peer>, heartbeat: Heartbeat, start: number): number[] {
  const perTick: number[] = []
  for (let i = 0; i < heartbeat.slices; i++) {
    const before = sumPings(peers)
    heartbeat.tick(start + i * SLICE)
    perTick.push(sumPings(peers) - before)
  }
  return perTick
}

const sumPings = (peers: Iterable<Peer>): number => [...peers].reduce((sum, p) => sum + p.pings, 0)

t.test('heartbeat rounds › slices: about one tick per 250 ms, at least 1, at most 240', async t => {
  t.equal(heartbeatSlices(40), 1)
  t.equal(heartbeatSlices(250), 1)
  t.equal(heartbeatSlices(2_000), 8)
  t.equal(heartbeatSlices(25_000), 100)
  t.equal(heartbeatSlices(600_000), 240)
})

t.test('heartbeat rounds › a round pings every connection once, spread evenly over its ticks', async t => {
  const { peers, heartbeat } = setup(1_000)
  const perTick = runRound(peers, heartbeat, 0)
  t.equal(perTick.length, 100)
  t.same(new Set(perTick), new Set([10]), 'each of the 100 ticks pings 10 of the 1,000')
  t.ok([...peers].every(p => p.pings === 1), 'every connection pinged once')
  runRound(peers, heartbeat, INTERVAL)
  t.ok([...peers].every(p => p.pings === 2), 'and once more in the next round')
})

t.test('heartbeat rounds › connections opened during a round are pinged in it; closed ones are not', async t => {
  const { peers, heartbeat } = setup(100)
  for (let i = 0; i < 40; i++) heartbeat.tick(i * SLICE)
  const late = Array.from({ length: 50 }, () => new Peer(40 * SLICE))
  for (const peer of late) peers.add(peer)
  const gone = [...peers].filter(p => p.pings === 0).slice(0, 20)
  for (const peer of gone) peers.delete(peer)
  for (let i = 40; i < heartbeat.slices; i++) heartbeat.tick(i * SLICE)
  t.ok([...peers].every(p => p.pings === 1), 'every connection still open was pinged once')
  t.ok(gone.every(p => p.pings === 0), 'connections closed before their turn were not')
})

t.test('heartbeat rounds › a connection silent for two intervals is closed with 4002, or terminated when its socket is dead', async t => {
  const { peers, heartbeat } = setup(3)
  const [quiet, stuck, alive] = [...peers] as [Peer, Peer, Peer]
  stuck.socket.bufferedAmount = 1_024
  runRound(peers, heartbeat, 0)
  runRound(peers, heartbeat, INTERVAL)
  alive.lastSeen = 2 * INTERVAL - 1
  t.ok([...peers].every(p => !p.closed), 'nobody is reaped before two intervals')
  runRound(peers, heartbeat, 2 * INTERVAL + 1)
  t.equal(quiet.closedWith, 4002)
  t.equal(stuck.terminatedFor, 'heartbeat-timeout')
  t.notOk(alive.closed, 'a connection seen within two intervals stays')
  t.equal(alive.pings, 3)
})

t.test('heartbeat rounds › a tick that fires late (the process stalled) reaps nobody', async t => {
  const { peers, heartbeat } = setup(1, 0)
  const [peer] = [...peers] as [Peer]
  runRound(peers, heartbeat, 0)
  // The process stalls for three intervals: pongs that came meanwhile would still be unread.
  heartbeat.tick(3 * INTERVAL)
  t.notOk(peer.closed, 'not reaped on the late tick, though silent for three intervals')
  t.equal(peer.pings, 2, 'pinged instead')
  for (let i = 1; i <= heartbeat.slices; i++) heartbeat.tick(3 * INTERVAL + i * SLICE)
  t.equal(peer.closedWith, 4002, 'reaped on the next round, ticking on time, as it stayed silent')
})
