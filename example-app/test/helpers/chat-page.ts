import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

/** Debian's Chromium, driven headless by playwright-core. */
export const CHROMIUM_PATH = process.env['SWITCHBOARD_TEST_CHROMIUM'] ?? '/usr/bin/chromium'

/** Starts headless Chromium with what a container and a busy CI machine need. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** A message as the page shows it (`ol#messages li.message`). */
export interface RenderedMessage {
  readonly seq: number
  readonly from: string
  readonly text: string
}

/**
 * One tab of the chat page (web/index.html), driven through its DOM as a person would: log in,
 * open conversations, type, send. Every wait is on a DOM condition, with the page's default
 * timeout.
 */
export class ChatPage {
  /** Uncaught errors in the page. */
  readonly errors: string[] = []
  /** Console errors (failed connections while the server is down among them). */
  readonly consoleErrors: string[] = []

  private constructor(
    readonly page: Page,
    readonly user: string,
  ) {
    page.on('pageerror', error => this.errors.push(error.message))
    page.on('console', message => {
      if (message.type() === 'error') this.consoleErrors.push(message.text())
    })
  }

  /** Opens the page in a new tab of `context` and logs in as `user`; resolves once connected. */
  static async logIn(context: BrowserContext, base: string, user: string, timeoutMs: number): Promise<ChatPage> {
    const page = await context.newPage()
    page.setDefaultTimeout(timeoutMs)
    const chat = new ChatPage(page, user)
    await page.goto(`${base}/`)
    await page.getByLabel('Your name').fill(user)
    await page.getByRole('button', { name: 'Log in' }).click()
    await chat.waitForState('connected')
    return chat
  }

  /** The connection indicator's state (`#connection[data-state]`). */
  state(): Promise<string | null> {
    return this.page.locator('#connection').getAttribute('data-state')
  }

  /** Waits until the connection indicator shows one of `states`. */
  async waitForState(...states: string[]): Promise<void> {
    await this.page.waitForFunction(wanted => wanted.includes(document.getElementById('connection')?.dataset['state'] ?? ''), states)
  }

  /** Clicks the sidebar entry of `channel` and waits until it is the open conversation. */
  async open(channel: string): Promise<void> {
    await this.page.locator(`button.conversation-link[data-channel="${channel}"]`).click()
    await this.page.waitForFunction(wanted => document.getElementById('chat-view')?.dataset['channel'] === wanted, channel)
  }

  /** Types `text` into the composer (without sending). */
  async type(text: string): Promise<void> {
    await this.page.getByLabel('Message', { exact: true }).fill(text)
  }

  /** Types `text` and sends it with Enter. */
  async send(text: string): Promise<void> {
    await this.type(text)
    await this.page.getByLabel('Message', { exact: true }).press('Enter')
  }

  /** Waits until the open conversation shows a stored (not pending) message with `text`. */
  async waitForMessage(text: string): Promise<void> {
    await this.page.waitForFunction(
      wanted => Array.from(document.querySelectorAll('#messages li.message:not(.pending) .text')).some(element => element.textContent === wanted),
      text,
    )
  }

  /** The open conversation's stored messages, in page order, and how many are still pending. */
  async messages(): Promise<{ stored: RenderedMessage[]; pending: number }> {
    return this.page.evaluate(() => ({
      stored: Array.from(document.querySelectorAll<HTMLElement>('#messages li.message:not(.pending)')).map(item => ({
        seq: Number(item.dataset['seq']),
        from: item.dataset['from'] ?? '',
        text: item.querySelector('.text')?.textContent ?? '',
      })),
      pending: document.querySelectorAll('#messages li.pending').length,
    }))
  }

  /** Waits until the typing line reads `text` ('' for nobody typing). */
  async waitForTyping(text: string): Promise<void> {
    await this.page.waitForFunction(wanted => (document.getElementById('typing')?.textContent ?? '') === wanted, text)
  }

  /** Waits until the open room's member list names exactly `users`. */
  async waitForMembers(users: string[]): Promise<void> {
    await this.page.waitForFunction(
      wanted => JSON.stringify(Array.from(document.querySelectorAll<HTMLElement>('#member-list li')).map(item => item.dataset['user'])) === JSON.stringify(wanted),
      [...users].sort(),
    )
  }

  /**
   * Starts recording the connection indicator's states in the page (`window.__states`), so
   * short-lived ones (connecting, reconnecting) are not missed between polls.
   */
  async recordStates(): Promise<void> {
    await this.page.evaluate(() => {
      const indicator = document.getElementById('connection')!
      const states: string[] = []
      ;(window as unknown as { __states: string[] }).__states = states
      new MutationObserver(() => states.push(indicator.dataset['state'] ?? '')).observe(indicator, { attributes: true, attributeFilter: ['data-state'] })
    })
  }

  /** The states recorded since {@link recordStates}. */
  recordedStates(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __states: string[] }).__states)
  }
}
