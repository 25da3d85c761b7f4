import type { z } from 'zod'
import { SwitchboardError } from '../errors.js'

/**
 * Validates `data` against a channel's schema.
 * @throws SwitchboardError `VALIDATION` with one `details` entry (path, message) per issue.
 */
export function validateData<T>(schema: z.ZodType<T>, data: unknown): T {
  const result = schema.safeParse(data)
  if (result.success) return result.data
  const details = result.error.issues.slice(0, 20).map(issue => ({ path: issue.path.map(String).join('.'), message: issue.message }))
  throw new SwitchboardError('VALIDATION', 'The data failed the channel schema.', { details })
}
