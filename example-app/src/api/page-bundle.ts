import { createHash } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: esbuild's working directory, so source map paths read `example-app/web/src/main.ts`. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The chat page's script: `web/src/main.ts` and what it imports, the client SDK included. */
export const PAGE_ENTRY = fileURLToPath(new URL('../../web/src/main.ts', import.meta.url))

/** One built file, ready to serve. */
export interface BuiltFile {
  readonly body: Buffer
  /** A strong validator: the content's hash, quoted. */
  readonly etag: string
}

/** The page script (`/app.js`) and its source map (`/app.js.map`). */
export interface PageBundle {
  readonly js: BuiltFile
  readonly map: BuiltFile
  /** The source files bundled, relative to the repository root. */
  readonly inputs: readonly string[]
}

interface Cached {
  readonly bundle: Promise<PageBundle>
  /** Each input's mtime (ms) when it was read, to notice edits (`watch`). */
  mtimes?: Map<string, number>
}

let cached: Cached | undefined

/**
 * The page script, bundled by esbuild's JS API (ESM, minified, ES2022, with a linked source map)
 * in memory, on the first call; later calls share that build, so every node of a process builds
 * once. With `watch` (development), a call after an input file changed builds again. A failed
 * build is not kept: the next call tries again.
 * @throws (rejects) esbuild's error when a source does not compile, or when esbuild (a
 *   development dependency of the repository) is not installed.
 */
export async function pageBundle(options: { watch?: boolean } = {}): Promise<PageBundle> {
  if (cached && options.watch && cached.mtimes && (await changed(cached.mtimes))) cached = undefined
  if (!cached) {
    const entry: Cached = { bundle: build() }
    cached = entry
    entry.bundle.then(
      async bundle => {
        entry.mtimes = await mtimes(bundle.inputs)
      },
      () => {
        if (cached === entry) cached = undefined
      },
    )
  }
  return cached.bundle
}

async function build(): Promise<PageBundle> {
  const esbuild = await import('esbuild')
  const outfile = join(ROOT, 'app.js')
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [PAGE_ENTRY],
    outfile,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  })
  const file = (path: string): BuiltFile => {
    const output = result.outputFiles.find(candidate => candidate.path === path)
    if (!output) throw new Error(`esbuild wrote no ${path}`)
    const body = Buffer.from(output.contents)
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }
  }
  return { js: file(outfile), map: file(`${outfile}.map`), inputs: Object.keys(result.metafile.inputs) }
}

async function mtimes(inputs: readonly string[]): Promise<Map<string, number>> {
  const entries = await Promise.all(inputs.map(async input => [input, await mtime(input)] as const))
  return new Map(entries)
}

async function mtime(input: string): Promise<number> {
  try {
    return (await stat(join(ROOT, input))).mtimeMs
  } catch {
    return -1
  }
}

async function changed(known: Map<string, number>): Promise<boolean> {
  for (const [input, time] of known) if ((await mtime(input)) !== time) return true
  return false
}
