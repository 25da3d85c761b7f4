import type { StoredMessageJson } from '../engines/store.js'

/**
 * The JSON text of `message`'s `message` frame with its `data` spliced in as the store holds
 * it: the frame `JSON.stringify({ type: 'message', ...message })` gives for the parsed message
 * (same keys, same order; `data` possibly spelled differently, e.g. with spaces), without
 * parsing and re-encoding the payload. `dataJson` must be valid JSON: it comes from the store,
 * never from a client.
 */
export function messageFrameJson(message: StoredMessageJson): string {
  return `{"type":"message","channel":${JSON.stringify(message.channel)},"seq":${JSON.stringify(message.seq)},"epoch":${JSON.stringify(message.epoch)},"mid":${JSON.stringify(message.mid)},"from":${JSON.stringify(message.from)},"data":${message.dataJson},"ts":${JSON.stringify(message.ts)}}`
}
