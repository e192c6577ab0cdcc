/**
 * @module storage/contracts/storage-backend
 * Everything a storage backend provides, in one type: the node's store (node-store.ts), and over the same
 * database the vault's (vault-store.ts) and the federation's (federation-store.ts). One database means one
 * transaction log: a backend may commit writes of all three together (SQLite shares one group commit).
 * `storage/index.ts`'s `openStore` is the one place a backend is chosen and opened.
 */
import type { FederationStore } from "./federation-store.js";
import type { NodeStore } from "./node-store.js";
import type { VaultStore } from "./vault-store.js";

export interface StorageBackend extends NodeStore {
  /** The credential vault's store over this backend's database (one instance per backend). */
  vaultStore(): VaultStore;
  /** Federation peers and imported records over this backend's database (one instance per backend). */
  federationStore(): FederationStore;
}
