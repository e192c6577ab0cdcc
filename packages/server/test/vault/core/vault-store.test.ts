/** The vault storage contract against SQLite and memory (PostgreSQL: pg-vault-store.test.ts), plus SQLite specifics (token secret patterns, reopen). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteStore } from "../../../src/storage/sqlite/sqlite-store.js";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import { runVaultStoreContract } from "./vault-store-contract.js";

runVaultStoreContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-vault-store-"));
  const sqlite = SqliteStore.open({ path: join(dir, "kai.db") });
  return {
    store: sqlite.vaultStore(),
    cleanup: async () => {
      await sqlite.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

runVaultStoreContract("memory", async () => {
  const memory = new MemoryStore();
  return { store: memory.vaultStore(), cleanup: () => memory.close() };
});

describe("sqlite tokens and vault rows on disk", () => {
  it("persists a token's secret patterns and the vault's rows across reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kai-vault-store-"));
    try {
      const path = join(dir, "kai.db");
      const first = SqliteStore.open({ path });
      const base = { owner: "o", scopes: ["vault:read" as const], createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2026-01-01T00:00:00.000Z", revokedAt: null };
      await first.insertToken({ id: "limited", ...base, secrets: ["openai/*", "services/**"] });
      await first.insertToken({ id: "open", ...base });
      await first.vaultStore().transact((tx) => tx.addKeyUsage(1, 77));
      await first.close();

      const again = SqliteStore.open({ path });
      expect((await again.getToken("limited"))?.secrets).toEqual(["openai/*", "services/**"]);
      expect((await again.getToken("open"))?.secrets).toBeUndefined();
      expect((await again.listTokens()).map((token) => token.secrets)).toEqual([["openai/*", "services/**"], undefined]);
      expect((await again.vaultStore().keyUsage()).get(1)).toBe(77);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
