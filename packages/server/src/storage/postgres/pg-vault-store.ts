/**
 * @module storage/postgres/pg-vault-store
 * The credential vault's store on PostgreSQL (placeholder until its author lands it).
 */
import type pg from "pg";
import type { VaultStore } from "../contracts/vault-store.js";

export function createPgVaultStore(_pool: pg.Pool): VaultStore {
  throw new Error("the PostgreSQL vault store is not written yet");
}
