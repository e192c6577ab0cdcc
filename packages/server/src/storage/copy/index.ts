/**
 * @module storage/copy
 * `kai storage copy`: moving a node's data from its SQLite data directory into another backend, verified.
 * See copy-storage.ts for the steps and the decisions behind them.
 */
export { copyStorage, describeTarget, REGISTRY_EPOCH_META, type CopyStorageOptions, type CopyReport } from "./copy-storage.js";
export type { VerificationRow } from "./verify-copy.js";
export { IDENTITY_PUBLIC_KEY_META } from "./source-identity.js";
export { maskUrl, scrubPassword } from "./mask-url.js";
export { postgresTarget } from "./postgres-target.js";
