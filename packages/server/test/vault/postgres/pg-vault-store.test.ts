/**
 * The vault storage contract on a real PostgreSQL (started by the test, one database per test), plus what only
 * a shared store has to keep: two stores on two pools (two instances) write ONE audit chain and add their
 * counters up, and a reader never sees half of another instance's transaction.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { StoredAuditEntry, VaultStore } from "../../../src/storage/contracts/vault-store.js";
import { StorageUnavailableError } from "../../../src/storage/contracts/storage-errors.js";
import { createPgVaultStore } from "../../../src/storage/postgres/pg-vault-store.js";
import { migratePostgres } from "../../../src/storage/postgres/pg-migrations.js";
import { startPostgres, type PostgresServer } from "../../helpers/postgres-server.js";
import { runVaultStoreContract } from "../core/vault-store-contract.js";

const server: PostgresServer | null = await startPostgres();
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
  await server?.stop();
});

/** A fresh, migrated database; `instances` pools on it (each one instance's). */
async function database(instances: number): Promise<{ url: string; stores: VaultStore[]; pools: pg.Pool[]; close: () => Promise<void> }> {
  const url = await server!.createDatabase("vault");
  const mine = Array.from({ length: instances }, () => {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    // An idle connection the server closes (the restart test) is reported here; the next query reconnects.
    pool.on("error", () => undefined);
    return pool;
  });
  pools.push(...mine);
  await migratePostgres(mine[0]!);
  return {
    url,
    pools: mine,
    stores: mine.map((pool) => createPgVaultStore(pool)),
    close: async () => {
      for (const pool of mine) {
        pools.splice(pools.indexOf(pool), 1);
        await pool.end();
      }
    },
  };
}

const at = "2030-01-01T00:00:00.000Z";

describe.skipIf(!server)("vault store on PostgreSQL", () => {
  runVaultStoreContract("postgres", async () => {
    const db = await database(1);
    return { store: db.stores[0]!, cleanup: db.close };
  });
});

describe.skipIf(!server)("two instances on one PostgreSQL vault store", () => {
  it("serialise their transactions into one audit chain, and their counters add up", async () => {
    const { stores, close } = await database(2);
    try {
      const [a, b] = stores as [VaultStore, VaultStore];
      // Each transaction appends the entry after the head it reads: a lost update would reuse a seq and fail.
      const append = (store: VaultStore, who: string) =>
        store.transact((tx) => {
          const head = tx.auditHead();
          const seq = (head?.seq ?? 0) + 1;
          const entry: StoredAuditEntry = {
            seq, at, tokenId: null, actor: who, operation: "op", secret: null, outcome: "allowed", reason: null, requestId: null,
            mac: `${head?.mac ?? ""}${who}`.slice(-60).padStart(64, "0"),
          };
          tx.appendAudit(entry);
          tx.addKeyUsage(1, 1);
          return seq;
        });
      const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => append(i % 2 === 0 ? a : b, i % 2 === 0 ? "a" : "b")));
      expect(new Set(seqs).size).toBe(40);
      const page = await b.auditPage(0, 100);
      expect(page.map((row) => row.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(new Set(page.map((row) => row.actor))).toEqual(new Set(["a", "b"]));
      expect(await a.auditHead()).toEqual({ seq: 40, mac: page[39]!.mac });
      expect((await a.keyUsage()).get(1)).toBe(40);
    } finally {
      await close();
    }
  });

  it("never show a reader half of a secret another instance is writing", async () => {
    const { stores, close } = await database(2);
    try {
      const [writer, reader] = stores as [VaultStore, VaultStore];
      const meta = (version: number) => ({
        name: "k", version, description: null, createdAt: at, createdBy: "w", updatedAt: at, updatedBy: "w",
        lastUsedAt: null, lastUsedBy: null, expiresAt: null, headMac: Buffer.alloc(32, version),
      });
      const put = (version: number) =>
        writer.transact((tx) => {
          tx.putSecretMeta(meta(version));
          tx.putSecretVersion({ name: "k", version, keyVersion: 1, ciphertext: Buffer.from([version]), createdAt: at });
          tx.pruneSecretVersions("k", version - 1);
        });
      await put(1);
      const writes = (async () => {
        for (let version = 2; version <= 30; version++) await put(version);
      })();
      const torn: string[] = [];
      let done = false;
      void writes.finally(() => (done = true));
      while (!done) {
        const secret = await reader.getSecret("k");
        // The current version's row is always there, and the kept versions are the current one and the one before.
        if (!secret || secret.versions[0]?.version !== secret.meta.version) torn.push(JSON.stringify(secret?.meta.version));
      }
      await writes;
      expect(torn).toEqual([]);
      expect((await reader.getSecret("k"))?.versions.map((row) => row.version)).toEqual([30, 29]);
    } finally {
      await close();
    }
  });

  it("answers storage_unavailable when the database is gone, and works again when it is back", async () => {
    const { stores, close } = await database(1);
    try {
      const store = stores[0]!;
      await store.transact((tx) => tx.addKeyUsage(1, 1));
      await server!.halt();
      try {
        await expect(store.transact((tx) => tx.addKeyUsage(1, 1))).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(store.getHeader()).rejects.toBeInstanceOf(StorageUnavailableError);
      } finally {
        await server!.start();
      }
      expect(await store.transact((tx) => tx.addKeyUsage(1, 1))).toBe(2);
    } finally {
      await close();
    }
  });
});
