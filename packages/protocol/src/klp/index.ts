/**
 * @module klp
 * KLP 1.0 (Kind Link Protocol) core: envelopes, payloads, DIDs, JCS, signing, the acceptance rules,
 * addresses and the transport interface. Runtime-neutral. Spec: docs/protocol/klp.md.
 */
export * from "./encoding.js";
export * from "./jcs.js";
export * from "./errors.js";
export * from "./did.js";
export * from "./keys.js";
export * from "./address.js";
export * from "./payloads.js";
export * from "./envelope.js";
export * from "./sign.js";
export * from "./replay-cache.js";
export * from "./accept.js";
export * from "./error-reply.js";
export * from "./transport.js";
export * from "./grant.js";
export * from "./handshake.js";
export * from "./signed-document.js";
export * from "./registry-api.js";
export * from "./federation.js";
export * from "./memory-grant.js";
