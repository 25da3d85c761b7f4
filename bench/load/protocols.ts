import type { TargetName } from '../targets/target-config.js'
import { readInt } from '../lib/payload.js'

/**
 * One target's wire format, as the load generator speaks it. Every target goes through the
 * same client code path (bench/load/bench-client.ts): a raw `ws` client whose received frames
 * are classified here by a few leading bytes, never decoded as a whole, so each target pays the
 * same client cost per delivery.
 */
export interface WireProtocol {
  readonly name: TargetName
  /** Frames the client sends right after the WebSocket opens, before `handshakeDone` (Switchboard's `connect`). */
  hello(token: string): string | undefined
  /** True for the frame that ends the handshake (`connected`, Socket.IO's `40`, or none for `ws`). */
  handshakeDone(frame: Buffer): boolean
  /** True when no handshake reply is expected (bare `ws`). */
  readonly immediate: boolean
  /** The frame answering a server control frame (Socket.IO's ping `2` → pong `3`), if any. */
  reply(frame: Buffer): string | undefined
  /** A join/subscribe request for `room`, with request id `id`. */
  join(room: string, id: number): string
  /** True for the reply of a join. */
  isJoinReply(frame: Buffer): boolean
  /**
   * A publish of `body` (the JSON benchmark body) to `room` with request id `id`; with `ack`
   * the server acknowledges it (Switchboard always answers `published`, so its id is always sent).
   */
  publish(room: string, body: string, id: number, ack: boolean): string
  /** True for a broadcast delivery. */
  isDelivery(frame: Buffer): boolean
  /** The id of a publish acknowledgement, or -1 when `frame` is not one. */
  ackId(frame: Buffer): number
  /** The id of a refused publish (an error reply), or -1. */
  errorId(frame: Buffer): number
  /** A keep-alive the client sends by itself every heartbeat interval, if the protocol asks for one. */
  ping(id: number): string | undefined
}

/** True when `frame` starts with `prefix`. */
export function startsWith(frame: Buffer, prefix: Buffer): boolean {
  if (frame.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (frame[i] !== prefix[i]) return false
  return true
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

const WS_DELIVERY = b('{"t":')
const WS_ACK = 0x61 // a
const WS_JOINED = 0x4a // J

/** The bare `ws` server's text protocol (see targets/ws-server.ts). */
export const wsProtocol: WireProtocol = {
  name: 'ws',
  immediate: true,
  hello: () => undefined,
  handshakeDone: () => true,
  reply: () => undefined,
  join: room => `j:${room}`,
  isJoinReply: frame => frame.length === 1 && frame[0] === WS_JOINED,
  publish: (room, body, id, ack) => (ack ? `a:${id}:${room}:${body}` : `p:${room}:${body}`),
  isDelivery: frame => startsWith(frame, WS_DELIVERY),
  ackId: frame => (frame[0] === WS_ACK ? readInt(frame, 1) : -1),
  errorId: () => -1,
  ping: () => undefined,
}

const SIO_DELIVERY = b('42["msg"')
const SIO_ACK = b('43')
const SIO_CONNECTED = b('40')

/**
 * Socket.IO v5 over engine.io v4, WebSocket transport only, written by hand: the server opens
 * with `0{…}`, the client connects the main namespace with `40{auth}` and gets `40{sid}`;
 * events are `42["name",…]`, with an ack id `42<id>[…]` answered `43<id>[…]`; engine.io pings
 * are `2`, answered `3`.
 */
export const socketioProtocol: WireProtocol = {
  name: 'socketio',
  immediate: false,
  hello: token => `40${JSON.stringify({ token })}`,
  handshakeDone: frame => startsWith(frame, SIO_CONNECTED),
  reply: frame => (frame.length === 1 && frame[0] === 0x32 ? '3' : undefined),
  join: (room, id) => `42${id}["join","${room}"]`,
  isJoinReply: frame => startsWith(frame, SIO_ACK),
  publish: (room, body, id, ack) => `42${ack ? id : ''}["pub","${room}",${body}]`,
  isDelivery: frame => startsWith(frame, SIO_DELIVERY),
  ackId: frame => (startsWith(frame, SIO_ACK) ? readInt(frame, 2) : -1),
  errorId: () => -1,
  ping: () => undefined,
}

const SB_DELIVERY = b('{"type":"message"')
const SB_PUBLISHED = b('{"type":"published","id":')
const SB_ERROR = b('{"type":"error","id":')
const SB_CONNECTED = b('{"type":"connected"')
const SB_SUBSCRIBED = b('{"type":"subscribed"')

/**
 * Switchboard protocol v1, JSON codec (PROTOCOL.md). `namespace` selects the channel
 * definition: `room` (ephemeral) or `stored` (persisted).
 */
export function switchboardProtocol(namespace: 'room' | 'stored'): WireProtocol {
  return {
    name: 'switchboard',
    immediate: false,
    hello: token => `{"type":"connect","id":1,"token":"${token}"}`,
    handshakeDone: frame => startsWith(frame, SB_CONNECTED),
    reply: () => undefined,
    join: (room, id) => `{"type":"subscribe","id":${id},"channel":"${namespace}:${room}"}`,
    isJoinReply: frame => startsWith(frame, SB_SUBSCRIBED),
    publish: (room, body, id) => `{"type":"publish","id":${id},"channel":"${namespace}:${room}","data":${body}}`,
    isDelivery: frame => startsWith(frame, SB_DELIVERY),
    ackId: frame => (startsWith(frame, SB_PUBLISHED) ? readInt(frame, SB_PUBLISHED.length) : -1),
    errorId: frame => (startsWith(frame, SB_ERROR) ? readInt(frame, SB_ERROR.length) : -1),
    ping: id => `{"type":"ping","id":${id}}`,
  }
}

/** The protocol of `target` (Switchboard on ephemeral `room:` channels unless `persisted`). */
export function protocolFor(target: TargetName, persisted = false): WireProtocol {
  if (target === 'ws') return wsProtocol
  if (target === 'socketio') return socketioProtocol
  return switchboardProtocol(persisted ? 'stored' : 'room')
}
