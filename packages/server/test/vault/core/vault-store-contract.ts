/**
 * @module test/vault/core/vault-store-contract
 * The conformance suite every `VaultStore` backend must pass (SQLite, memory and PostgreSQL): atomic
 * transactions (a throw leaves nothing behind), ordering, version pruning, the audit chain's sequence rule and
 * head, counters that only add up, and the announced-reads rule (a read `work` did not announce is refused on
 * every backend, so a vault caller's missing hint fails on SQLite as it would on PostgreSQL).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SecretMetaRow, StoredAuditEntry, VaultStore } from "../../../src/storage/contracts/vault-store.js";

export type OpenVaultStore = () => Promise<{ store: VaultStore; cleanup: () => Promise<void> }>;

const at = "2030-01-01T00:00:00.000Z";
const meta = (name: string, version: number): SecretMetaRow => ({
  name, version, description: null, createdAt: at, createdBy: "alice", updatedAt: at, updatedBy: "alice",
  lastUsedAt: null, lastUsedBy: null, expiresAt: null, headMac: Buffer.alloc(32, version),
});
const entry = (seq: number, operation = "op"): StoredAuditEntry => ({
  seq, at, tokenId: "t1", actor: "alice", operation, secret: null, outcome: "allowed", reason: null, requestId: null, mac: `${seq}`.padStart(64, "0"),
});

export function runVaultStoreContract(name: string, open: OpenVaultStore): void {
  describe(`vault store contract: ${name}`, () => {
    let store: VaultStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    it("starts empty", async () => {
      expect(await store.getHeader()).toBeNull();
      expect(await store.listSecrets()).toEqual([]);
      expect(await store.countSecrets()).toBe(0);
      expect(await store.auditHead()).toBeNull();
      expect((await store.keyUsage()).size).toBe(0);
    });

    it("writes and replaces the header", async () => {
      const header = { format: 1, kdf: '{"name":"key-file"}', keyring: Buffer.from([1, 2, 3]), activeVersion: 1, createdAt: at, updatedAt: at };
      await store.transact((tx) => tx.putHeader(header));
      expect(await store.getHeader()).toEqual(header);
      await store.transact((tx) => tx.putHeader({ ...header, keyring: Buffer.from([9]), activeVersion: 2, updatedAt: "2030-01-02T00:00:00.000Z" }));
      const again = await store.getHeader();
      expect(again?.keyring).toEqual(Buffer.from([9]));
      expect(again?.activeVersion).toBe(2);
      expect(again?.createdAt).toBe(at);
    });

    it("keeps a secret's head MAC byte for byte (or null), through puts, touches and listings", async () => {
      await store.transact((tx) => {
        tx.putSecretMeta(meta("m", 1));
        tx.putSecretMeta({ ...meta("legacy", 1), headMac: null });
      });
      expect((await store.getSecret("m"))?.meta.headMac).toEqual(Buffer.alloc(32, 1));
      expect((await store.getSecret("legacy"))?.meta.headMac).toBeNull();
      await store.transact((tx) => {
        tx.touchSecret("m", "2030-02-01T00:00:00.000Z", "bob");
        tx.putSecretMeta({ ...meta("legacy", 1), headMac: Buffer.from([7, 0, 7]) });
      });
      expect((await store.getSecret("m"))?.meta.headMac).toEqual(Buffer.alloc(32, 1));
      expect((await store.listSecrets()).map((row) => row.headMac)).toEqual([Buffer.from([7, 0, 7]), Buffer.alloc(32, 1)]);
    });

    it("keeps secrets with their versions newest first, prunes, replaces, touches and deletes", async () => {
      await store.transact((tx) => {
        for (let v = 1; v <= 4; v++) {
          tx.putSecretMeta(meta("b/x", v));
          tx.putSecretVersion({ name: "b/x", version: v, keyVersion: 1, ciphertext: Buffer.from([v]), createdAt: at });
        }
        tx.putSecretMeta(meta("a", 1));
        tx.putSecretVersion({ name: "a", version: 1, keyVersion: 1, ciphertext: Buffer.from([42]), createdAt: at });
        tx.pruneSecretVersions("b/x", 3);
      });
      const secret = await store.getSecret("b/x");
      expect(secret?.meta.version).toBe(4);
      expect(secret?.versions.map((row) => row.version)).toEqual([4, 3]);
      expect((await store.listSecrets()).map((row) => [row.name, row.versions])).toEqual([["a", [1]], ["b/x", [4, 3]]]);
      expect(await store.countSecrets()).toBe(2);
      // The vault's own secrets are left out of its status by prefix, matched literally.
      expect(await store.countSecrets("b/")).toBe(1);
      expect(await store.countSecrets("%")).toBe(2);

      await store.transact((tx) => {
        tx.replaceCiphertext("b/x", 3, 2, Buffer.from([99]));
        tx.touchSecret("a", "2030-02-01T00:00:00.000Z", "bob");
      }, { secrets: ["b/x"] });
      expect((await store.getSecret("b/x"))?.versions[1]).toMatchObject({ version: 3, keyVersion: 2, ciphertext: Buffer.from([99]) });
      expect((await store.getSecret("a"))?.meta).toMatchObject({ lastUsedAt: "2030-02-01T00:00:00.000Z", lastUsedBy: "bob" });
      const all = await store.transact((tx) => tx.allSecretVersions(), { allSecrets: true });
      expect(all.map((row) => `${row.name}@${row.version}`)).toEqual(["a@1", "b/x@3", "b/x@4"]);

      expect(await store.transact((tx) => tx.deleteSecret("b/x"), { secrets: ["b/x"] })).toBe(true);
      expect(await store.transact((tx) => tx.deleteSecret("b/x"), { secrets: ["b/x"] })).toBe(false);
      expect(await store.getSecret("b/x")).toBeNull();
      expect(await store.transact((tx) => tx.allSecretVersions().length, { allSecrets: true })).toBe(1);
    });

    it("rolls back everything a failing transaction did", async () => {
      await store.transact((tx) => {
        tx.putSecretMeta(meta("keep", 1));
        tx.putSecretVersion({ name: "keep", version: 1, keyVersion: 1, ciphertext: Buffer.from([1]), createdAt: at });
        tx.addKeyUsage(1, 5);
        tx.appendAudit(entry(1));
      });
      await expect(
        store.transact((tx) => {
          tx.putSecretMeta(meta("gone", 1));
          tx.putSecretVersion({ name: "gone", version: 1, keyVersion: 1, ciphertext: Buffer.from([2]), createdAt: at });
          tx.replaceCiphertext("keep", 1, 2, Buffer.from([7]));
          tx.deleteSecret("keep");
          tx.addKeyUsage(1, 1);
          tx.appendAudit(entry(2));
          tx.putHeader({ format: 1, kdf: "{}", keyring: Buffer.from([1]), activeVersion: 1, createdAt: at, updatedAt: at });
          throw new Error("boom");
        }, { secrets: ["keep"] }),
      ).rejects.toThrow("boom");
      expect(await store.getSecret("gone")).toBeNull();
      expect((await store.getSecret("keep"))?.versions[0]?.ciphertext).toEqual(Buffer.from([1]));
      expect((await store.keyUsage()).get(1)).toBe(5);
      expect(await store.auditHead()).toEqual({ seq: 1, mac: entry(1).mac });
      expect(await store.auditPage(0, 10)).toHaveLength(1);
      expect(await store.getHeader()).toBeNull();
    });

    it("runs a transaction's work exactly once, also when another transaction committed with it fails", async () => {
      // The vault's callbacks keep state in memory (rotation counts encryptions): a backend that groups transactions
      // into one commit must not run a callback again when it retries the group after a failure.
      let runs = 0;
      const succeeding = store.transact((tx) => {
        runs++;
        tx.addKeyUsage(1, 1);
      });
      const failing = store.transact(() => {
        throw new Error("boom");
      });
      await expect(failing).rejects.toThrow("boom");
      await succeeding;
      expect(runs).toBe(1);
      expect((await store.keyUsage()).get(1)).toBe(1);
    });

    it("appends audit entries only in sequence and moves the head", async () => {
      await store.transact((tx) => {
        tx.appendAudit(entry(1, "a"));
        tx.appendAudit(entry(2, "b"));
      });
      await expect(store.transact((tx) => tx.appendAudit(entry(4)))).rejects.toThrow();
      await expect(store.transact((tx) => tx.appendAudit(entry(2)))).rejects.toThrow();
      await store.transact((tx) => tx.appendAudit({ ...entry(3, "a"), outcome: "denied", actor: "bob" }));
      expect(await store.auditHead()).toEqual({ seq: 3, mac: entry(3).mac });
      expect((await store.auditPage(1, 10)).map((row) => row.seq)).toEqual([2, 3]);
      expect((await store.listAudit({ limit: 10, operation: "a" })).map((row) => row.seq)).toEqual([1, 3]);
      expect((await store.listAudit({ limit: 10, outcome: "denied" })).map((row) => row.seq)).toEqual([3]);
      expect((await store.listAudit({ limit: 10, actor: "alice" })).map((row) => row.seq)).toEqual([1, 2]);
      expect((await store.listAudit({ limit: 1, afterSeq: 1 })).map((row) => row.seq)).toEqual([2]);
      // Newest first: what `kai vault audit --limit n` shows (the last n, not the first).
      expect((await store.listAudit({ limit: 2, order: "desc" })).map((row) => row.seq)).toEqual([3, 2]);
      expect((await store.listAudit({ limit: 10, operation: "a", order: "desc" })).map((row) => row.seq)).toEqual([3, 1]);
      expect(await store.auditPage(0, 10)).toEqual([entry(1, "a"), entry(2, "b"), { ...entry(3, "a"), outcome: "denied", actor: "bob" }]);
    });

    it("applies transactions in call order", async () => {
      const order: number[] = [];
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.transact((tx) => {
        order.push(i);
        tx.appendAudit(entry(i + 1));
      })));
      expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect((await store.auditHead())?.seq).toBe(20);
    });

    it("keeps key usage counters, which only add up", async () => {
      const totals = await store.transact((tx) => [tx.addKeyUsage(1, 10), tx.addKeyUsage(2, 3), tx.addKeyUsage(1, 0)]);
      expect(totals).toEqual([10, 3, 10]);
      expect(await store.transact((tx) => tx.addKeyUsage(2, 1))).toBe(4);
      await store.transact((tx) => {
        tx.addKeyUsage(2, 4);
        tx.deleteKeyUsage(1);
      });
      expect([...(await store.keyUsage())]).toEqual([[2, 8]]);
      // Increments made by concurrent transactions are all counted.
      await Promise.all(Array.from({ length: 10 }, () => store.transact((tx) => tx.addKeyUsage(3, 2))));
      expect((await store.keyUsage()).get(3)).toBe(20);
    });

    it("refuses a read that was not announced, and answers announced ones with the transaction's own writes", async () => {
      await store.transact((tx) => {
        tx.putSecretMeta(meta("s", 1));
        tx.putSecretVersion({ name: "s", version: 1, keyVersion: 1, ciphertext: Buffer.from([1]), createdAt: at });
      });
      await expect(store.transact((tx) => tx.getSecret("s"))).rejects.toThrow(/without announcing/);
      await expect(store.transact((tx) => tx.getSecret("s"), { secrets: ["other"] })).rejects.toThrow(/without announcing/);
      await expect(store.transact((tx) => tx.allSecretVersions(), { secrets: ["s"] })).rejects.toThrow(/without announcing/);
      await expect(store.transact((tx) => tx.deleteSecret("s"))).rejects.toThrow(/without announcing/);
      await expect(store.transact((tx) => tx.replaceCiphertext("s", 1, 2, Buffer.from([2])))).rejects.toThrow(/without announcing/);
      // Blind writes need no announcement; the header, audit head and counters are always readable.
      await store.transact((tx) => {
        tx.touchSecret("s", "2030-03-01T00:00:00.000Z", "carol");
        expect(tx.getHeader()).toBeNull();
        expect(tx.auditHead()).toBeNull();
      });
      expect((await store.getSecret("s"))?.meta.lastUsedBy).toBe("carol");

      const seen = await store.transact((tx) => {
        const before = tx.getSecret("s")!;
        tx.putSecretMeta({ ...before.meta, version: 2 });
        tx.putSecretVersion({ name: "s", version: 2, keyVersion: 1, ciphertext: Buffer.from([2]), createdAt: at });
        tx.pruneSecretVersions("s", 2);
        tx.putSecretMeta(meta("new", 1));
        tx.appendAudit(entry(1));
        const after = tx.getSecret("s")!;
        return {
          before: before.versions.map((row) => row.version),
          after: after.versions.map((row) => row.version),
          version: after.meta.version,
          absent: tx.getSecret("missing"),
          created: tx.getSecret("new")?.meta.name,
          head: tx.auditHead()?.seq,
        };
      }, { secrets: ["s", "missing", "new"] });
      expect(seen).toEqual({ before: [1], after: [2], version: 2, absent: null, created: "new", head: 1 });
      const everything = await store.transact((tx) => {
        tx.replaceCiphertext("s", 2, 7, Buffer.from([7]));
        return tx.allSecretVersions().map((row) => `${row.name}@${row.version}:${row.keyVersion}`);
      }, { allSecrets: true });
      expect(everything).toEqual(["s@2:7"]);
    });

    it("records one audit key for every instance when it is shared", async () => {
      const first = await store.claimAuditKey("check-a");
      expect(first).toBe("check-a");
      // A store one process uses has no other instance to disagree with; a shared one keeps the first claim.
      expect(await store.claimAuditKey("check-b")).toBe(store.shared ? "check-a" : "check-b");
    });
  });
}
