import type { PlopGeneratorConfig } from 'plop'
import { interactive } from './interactive.js'

/** One prompt of a plop generator (an inquirer question). */
export type Prompt = Extract<PlopGeneratorConfig['prompts'], readonly unknown[]>[number]

/**
 * Completes a question: asked only with a terminal (see {@link interactive}), and with `help`,
 * the line plop prints for its flag under "Options" when a command line has an unknown flag.
 */
export function prompt(question: Prompt, help: string): Prompt {
  return Object.assign(question, { when: interactive, help })
}
