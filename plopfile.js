// What `npx plop` loads. Plop 4 on Node 20 cannot import TypeScript by itself (it would fail
// with ERR_UNKNOWN_FILE_EXTENSION on plopfile.ts), so this registers tsx's loader and hands over
// to plopfile.ts, where the generators are registered. Plop picks plopfile.js before .ts.
import { register } from 'tsx/esm/api'

register()
const { default: plopfile } = await import('./plopfile.ts')

/** The plopfile of plopfile.ts. */
export default plopfile
