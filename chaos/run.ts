// `npm run chaos [-- --quick | --short]`: the chaos run (see docs/reliability.md). Exits 1 on any
// loss, duplicate, reordering, unacked at-least-once message or crash.
import { PLANS, runChaos } from './chaos-run.js'
import { formatReport, passed } from './verify.js'

const args = process.argv.slice(2)
const name = args.includes('--short') ? 'short' : args.includes('--quick') ? 'quick' : 'full'
const plan = PLANS[name]
const log = (line: string): void => void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
log(`plan ${name}: ${JSON.stringify(plan)}`)
const report = await runChaos(plan, log)
process.stdout.write(`${formatReport(report)}\n`)
process.exit(passed(report) ? 0 : 1)
