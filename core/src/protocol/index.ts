/**
 * The wire protocol (PROTOCOL.md): frame types and schemas, codecs and their subprotocols,
 * client frame decoding, and frames prepared for broadcast. For use inside core; the public
 * API is `core/src/index.ts`.
 */
export * from './close-codes.js'
export * from './codec.js'
export * from './decode-frame.js'
export * from './frames.js'
export * from './json-codec.js'
export * from './message-frame-json.js'
export * from './msgpack-codec.js'
export * from './prepared-frame.js'
export * from './subprotocols.js'
