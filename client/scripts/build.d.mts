/** Where the bundle is written by default: client/dist/switchboard-client.js. */
export declare const BUNDLE_PATH: string

/** What {@link buildClientBundle} resolves with. */
export interface ClientBundle {
  /** The bundle's path. */
  outfile: string
  /** Its size minified, in bytes. */
  bytes: number
  /** Its size minified and gzipped (level 9), in bytes. */
  gzipBytes: number
  /** The source files bundled, relative to client/. */
  inputs: string[]
}

/** Bundles the browser entry with esbuild (ESM, minified, ES2022) to `outfile` (default {@link BUNDLE_PATH}). */
export declare function buildClientBundle(options?: { outfile?: string; entry?: string }): Promise<ClientBundle>
