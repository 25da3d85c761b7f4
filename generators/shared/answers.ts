/** Prompt answers as plop hands them over: by prompt name, absent when a prompt was skipped. */
export type AnswerMap = Readonly<Record<string, unknown>>

/**
 * Runs checks in order and throws the first failure.
 * @throws Error with the failing check's message.
 */
export function assertAll(checks: readonly (() => true | string)[]): void {
  for (const check of checks) {
    const valid = check()
    if (valid !== true) throw new Error(valid)
  }
}

/** Checks a confirm answer (plop's bypass turns `true`/`false`/`yes`/`no` into booleans). */
export function checkBoolean(value: unknown, what: string): true | string {
  return typeof value === 'boolean' ? true : `${what} ${JSON.stringify(value)}: expected true or false`
}
