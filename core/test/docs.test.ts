import t from 'tap'
import { readFileSync } from 'node:fs'
import { ERROR_CODES } from '../src/errors.js'
import { ENV_VARIABLES } from '../src/env.js'
import { CLOSE_CODES } from '../src/protocol/close-codes.js'
import { DEFAULT_OPTIONS } from '../src/options.js'

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

t.test('docs › errors.md lists every registry code and close code', async t => {
  const doc = read('docs/errors.md')
  for (const code of Object.keys(ERROR_CODES)) t.match(doc, `\`${code}\``, code)
  for (const [name, code] of Object.entries(CLOSE_CODES)) t.match(doc, new RegExp(`\\| ${code} \\| \`${name}\``), name)
})

t.test('docs › operations.md lists every environment variable with its default', async t => {
  const doc = read('docs/operations.md')
  for (const variable of ENV_VARIABLES) {
    t.match(doc, `| \`${variable.name}\` | \`${variable.option}\` | ${variable.default} |`, variable.name)
  }
  for (const option of ['publishBurst', 'rateLimitCloseAfter', 'closeTimeoutMs', 'retryAfterSec'] as const) {
    t.match(doc, `\`${option}\` (`, option)
  }
  t.match(doc, `\`closeTimeoutMs\` (${DEFAULT_OPTIONS.closeTimeoutMs}`)
})
