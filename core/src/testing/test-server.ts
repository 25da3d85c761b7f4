import { signDevToken } from '../auth/token-verifier.js'
import { silentLogger } from '../observability/logger.js'
import { createSwitchboard, type Switchboard, type SwitchboardConfig } from '../switchboard.js'
import { TestClient, type TestClientOptions } from './test-client.js'

/** The HS256 secret test servers use unless the config gives another. */
export const TEST_JWT_SECRET = 'switchboard-test-secret'

/** A node listening on a free loopback port, with helpers to reach it. */
export interface TestServer {
  /** The node. */
  readonly switchboard: Switchboard
  /** `ws://127.0.0.1:<port><path>` */
  readonly url: string
  /** The port it listens on. */
  readonly port: number
  /** Signs a token for `user` with the test secret (expires in `expiresInSec`, default 3600). */
  token(user: string, expiresInSec?: number): Promise<string>
  /** Opens a connection and authenticates as `user`. */
  connect(user: string, options?: TestClientOptions): Promise<TestClient>
  /** Closes the node (idempotent). */
  close(): Promise<void>
}

/**
 * Starts a Switchboard node for tests on 127.0.0.1 and a free port, with a silent logger and
 * the test JWT secret unless `config` says otherwise.
 */
export async function startTestServer(config: SwitchboardConfig = {}): Promise<TestServer> {
  const secret = config.jwt?.secret ?? TEST_JWT_SECRET
  const switchboard = createSwitchboard({
    logger: silentLogger(),
    ...config,
    jwt: { ...config.jwt, secret },
  })
  const { port } = await switchboard.listen(0, '127.0.0.1')
  const url = `ws://127.0.0.1:${port}${switchboard.options.path}`
  const token = (user: string, expiresInSec = 3600): Promise<string> => signDevToken(secret, user, { expiresInSec })
  return {
    switchboard,
    url,
    port,
    token,
    async connect(user, options) {
      const { client } = await TestClient.connect(url, await token(user), options)
      return client
    },
    close: () => switchboard.close(),
  }
}
