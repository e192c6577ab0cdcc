/** @module version — the server's version, reported by `/api/status` and the OpenAPI document. */
export const VERSION = "0.1.0";
