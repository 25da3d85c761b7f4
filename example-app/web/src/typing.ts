/** How often "still typing" is published while keys are pressed (ms). */
export const TYPING_REPEAT_MS = 3000
/** Quiet time after which "stopped typing" is published (ms). */
export const TYPING_IDLE_MS = 4000
/** How long another user's "typing" shows without news from them (ms): a lost "stopped" heals. */
export const TYPING_SHOWN_MS = 6000

/**
 * This user's typing state, published throttled: `{ typing: true }` on the first key and again
 * every {@link TYPING_REPEAT_MS} while typing, `{ typing: false }` after
 * {@link TYPING_IDLE_MS} without a key, on send, on blur, and when another conversation opens.
 */
export class TypingSender {
  private active = false
  private lastSent = 0
  private idle: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly publish: (typing: boolean) => void) {}

  /** A key was pressed in the composer. */
  input(): void {
    const now = Date.now()
    if (!this.active || now - this.lastSent >= TYPING_REPEAT_MS) {
      this.active = true
      this.lastSent = now
      this.publish(true)
    }
    clearTimeout(this.idle)
    this.idle = setTimeout(() => this.stop(), TYPING_IDLE_MS)
  }

  /** The user stopped (sent, blurred, cleared the composer, left the room). */
  stop(): void {
    clearTimeout(this.idle)
    if (!this.active) return
    this.active = false
    this.publish(false)
  }
}

/** Who else is typing in the open room; each entry expires after {@link TYPING_SHOWN_MS}. */
export class TypingWatcher {
  private readonly typing = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(private readonly onChange: (users: string[]) => void) {}

  /** `user` published `{ typing }` (or left: `false`). */
  set(user: string, typing: boolean): void {
    const had = this.typing.has(user)
    clearTimeout(this.typing.get(user))
    if (typing) this.typing.set(user, setTimeout(() => this.set(user, false), TYPING_SHOWN_MS))
    else this.typing.delete(user)
    if (had !== typing) this.onChange(this.users())
  }

  /** Forgets everyone (another room opened). */
  clear(): void {
    for (const timer of this.typing.values()) clearTimeout(timer)
    this.typing.clear()
    this.onChange([])
  }

  /** The users typing, by name. */
  users(): string[] {
    return [...this.typing.keys()].sort()
  }
}

/** "alice is typing…", "alice and bob are typing…", "alice, bob and 2 others are typing…"; empty for nobody. */
export function typingText(users: readonly string[]): string {
  const [first, second] = users
  if (first === undefined) return ''
  if (second === undefined) return `${first} is typing…`
  if (users.length === 2) return `${first} and ${second} are typing…`
  if (users.length === 3) return `${first}, ${second} and ${users[2]} are typing…`
  return `${first}, ${second} and ${users.length - 2} others are typing…`
}
