// Builds the browser bundle of @switchboard/client: src/index.ts → dist/switchboard-client.js
// (ESM, minified, no Node built-ins), and reports its size minified and minified+gzipped.
// Usage: node client/scripts/build.mjs            (from anywhere)
//        import { buildClientBundle } from './client/scripts/build.mjs'   (servers, tests)
import { build } from 'esbuild'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Where the bundle is written by default. */
export const BUNDLE_PATH = fileURLToPath(new URL('../dist/switchboard-client.js', import.meta.url))

/**
 * Bundles the browser entry with esbuild (ESM, minified, platform browser, ES2022) to `outfile`
 * (default dist/switchboard-client.js) with a source map beside it. Resolves with the path, the
 * sizes in bytes (minified, and minified+gzipped at level 9) and the source files bundled.
 */
export async function buildClientBundle({ outfile = BUNDLE_PATH, entry = 'src/index.ts' } = {}) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  })
  const code = readFileSync(outfile)
  const inputs = Object.keys(result.metafile.inputs)
  return { outfile, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length, inputs }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outfile, bytes, gzipBytes } = await buildClientBundle()
  process.stdout.write(`${outfile}: ${bytes} bytes minified, ${gzipBytes} bytes minified+gzipped\n`)
}
