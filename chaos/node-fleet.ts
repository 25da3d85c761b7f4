import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Longest a node may take to start (ms): generous, for a loaded 2-core machine. */
const START_TIMEOUT_MS = 90_000

/** One example-app node process of the fleet. */
interface FleetNode {
  readonly id: string
  readonly port: number
  child: ChildProcess | undefined
  /** True while we expect it to run (so an exit is a crash). */
  expected: boolean
}

/**
 * The example app's nodes (`example-app/src/main.ts`, as `npm start` runs it) on fixed ports,
 * sharing one PostgreSQL and one Redis. Nodes can be SIGKILLed and started again; an exit we did
 * not cause is recorded as a crash.
 */
export class NodeFleet {
  readonly nodes: FleetNode[]
  /** Exits of nodes that were meant to be running: `<id> exited with <code/signal>`. */
  readonly crashes: string[] = []

  constructor(
    ports: readonly number[],
    private readonly env: Record<string, string>,
  ) {
    this.nodes = ports.map((port, i) => ({ id: `chaos-node-${i + 1}`, port, child: undefined, expected: false }))
  }

  /** Starts every node; resolves once all listen. */
  async startAll(): Promise<void> {
    await Promise.all(this.nodes.map(node => this.start(node)))
  }

  /** SIGKILLs node `index` and resolves once it exited. */
  async kill(index: number): Promise<void> {
    const node = this.nodes[index]!
    node.expected = false
    if (node.child && node.child.exitCode === null && node.child.signalCode === null) {
      const exited = once(node.child, 'exit')
      node.child.kill('SIGKILL')
      await exited
    }
    node.child = undefined
  }

  /** Starts node `index` again on its port; retries while it fails to start (e.g. PostgreSQL is restarting). */
  async restart(index: number): Promise<void> {
    const node = this.nodes[index]!
    for (let attempt = 1; ; attempt++) {
      try {
        await this.start(node)
        return
      } catch (err) {
        if (attempt >= 5) throw err
      }
    }
  }

  /** SIGTERMs every node and waits for them (graceful shutdown, exit 0 expected). Resolves with their exit codes. */
  async stopAll(): Promise<(number | null)[]> {
    return Promise.all(
      this.nodes.map(async node => {
        node.expected = false
        const child = node.child
        if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null
        const exited = once(child, 'exit') as Promise<[number | null]>
        child.kill('SIGTERM')
        const [code] = await exited
        return code
      }),
    )
  }

  private async start(node: FleetNode): Promise<void> {
    // node itself with tsx's loader (not the tsx wrapper, which would leave its child running after a SIGKILL).
    const child = spawn(process.execPath, ['--import', 'tsx', 'example-app/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(node.port), SWITCHBOARD_NODE_ID: node.id, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const collect = (chunk: Buffer): void => {
      if (output.length < 20_000) output += chunk
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    child.once('exit', (code, signal) => {
      if (node.child === child && node.expected) {
        this.crashes.push(`${node.id} exited with ${code ?? signal}: ${output.slice(-2000)}`)
        node.expected = false
      }
    })
    node.child = child
    await this.untilListening(node, () => output)
    node.expected = true
  }

  /** Resolves once the node answers `/healthz`; rejects when it exits or times out. */
  private async untilListening(node: FleetNode, output: () => string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS
    const child = node.child!
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${node.id} exited while starting: ${output().slice(-2000)}`)
      const ok = await fetch(`http://127.0.0.1:${node.port}/healthz`).then(
        res => res.ok,
        () => false,
      )
      if (ok) return
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    child.kill('SIGKILL')
    throw new Error(`${node.id} did not start in ${START_TIMEOUT_MS} ms: ${output().slice(-2000)}`)
  }
}
