import { SwitchboardError } from '../../errors.js'
import type { RetentionPolicy } from '../store.js'

/** Returns `policy` when its limits are non-negative safe integers; throws `CONFIG_INVALID` naming `name.field` otherwise. */
export function checkRetention(policy: RetentionPolicy, name: string): RetentionPolicy {
  for (const field of ['maxMessages', 'maxAgeMs'] as const) {
    const value = policy[field]
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new SwitchboardError('CONFIG_INVALID', `${name}.${field} must be a non-negative integer, got ${String(value)}.`)
    }
  }
  return policy
}

/** `policy` without its `undefined` fields, so spreading it does not hide defaults. */
export function definedLimits(policy: RetentionPolicy): RetentionPolicy {
  return {
    ...(policy.maxMessages === undefined ? {} : { maxMessages: policy.maxMessages }),
    ...(policy.maxAgeMs === undefined ? {} : { maxAgeMs: policy.maxAgeMs }),
  }
}
