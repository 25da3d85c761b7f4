import { createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP load balancer for the chaos run, like any L4 balancer in front of Switchboard nodes: each
 * accepted connection is piped to the next backend in round-robin order, skipping backends that
 * refuse it (a node that is down). No sticky sessions. It can also cut client connections at
 * random, which is how the chaos run drops client sockets.
 */
export class Balancer {
  private readonly server: Server
  private readonly pairs = new Set<[Socket, Socket]>()
  /** Every client socket accepted and not yet closed (piped or still looking for a backend). */
  private readonly clients = new Set<Socket>()
  private next = 0

  constructor(private readonly backends: readonly number[]) {
    this.server = createServer(client => this.accept(client))
  }

  /** Listens on 127.0.0.1 (port 0: any free one); resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port))
    })
  }

  /** Connections currently piped. */
  get open(): number {
    return this.pairs.size
  }

  /** Destroys `count` piped connections chosen at random (both sides, no close frame); resolves with how many it cut. */
  dropRandom(count: number, random: () => number): number {
    const all = [...this.pairs]
    let cut = 0
    for (let i = 0; i < count && all.length > 0; i++) {
      const [pair] = all.splice(Math.floor(random() * all.length), 1)
      pair![0].destroy()
      pair![1].destroy()
      cut += 1
    }
    return cut
  }

  /** Stops accepting and cuts every connection. */
  close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy()
      b.destroy()
    }
    for (const client of this.clients) client.destroy()
    return new Promise(resolve => this.server.close(() => resolve()))
  }

  private accept(client: Socket, tried = 0): void {
    if (tried === 0) {
      this.clients.add(client)
      client.once('close', () => this.clients.delete(client))
      client.on('error', () => {})
    }
    client.pause()
    if (tried >= this.backends.length) {
      client.destroy()
      return
    }
    const port = this.backends[this.next++ % this.backends.length]!
    const upstream = new (client.constructor as typeof Socket)()
    upstream.on('error', () => {
      if (!upstream.connecting) return
      // Refused: that node is down; try the next one.
      upstream.destroy()
      this.accept(client, tried + 1)
    })
    upstream.connect(port, '127.0.0.1', () => {
      const pair: [Socket, Socket] = [client, upstream]
      this.pairs.add(pair)
      const end = (): void => {
        this.pairs.delete(pair)
        client.destroy()
        upstream.destroy()
      }
      client.once('close', end)
      upstream.once('close', end)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
  }
}
