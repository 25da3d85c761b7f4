import type { Test } from 'tap'
import { isSwitchboardError } from '../errors.js'

/**
 * Asserts that `call` returns a promise rejecting with a `CLOSED` SwitchboardError (a synchronous
 * throw or a resolve fails the test). `what`, when given, names the call at the start of each
 * assertion message.
 */
export async function rejectsClosed(t: Test, call: () => Promise<unknown>, what?: string): Promise<void> {
  const subject = what === undefined ? '' : `${what} `
  let pending: Promise<unknown>
  try {
    pending = call()
  } catch (error) {
    t.fail(`${subject}threw synchronously instead of rejecting`, { error })
    return
  }
  try {
    await pending
    t.fail(`${subject}resolved instead of rejecting with CLOSED`)
  } catch (error) {
    t.ok(isSwitchboardError(error, 'CLOSED'), `${subject}rejects with a CLOSED SwitchboardError`, { found: error })
  }
}
