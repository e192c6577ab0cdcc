/**
 * @module test/plugins/cluster/plugin-install-store-contract
 * The conformance suite every `PluginInstallStore` backend must pass (src/storage/contracts/plugin-install-store.ts):
 * a put and its read back with the package's bytes exactly, revisions counted per id (1, then previous + 1), a remove
 * stored as a row without a package, the listing by id without bytes, a copied row stored as it was (its revision
 * included) and never over a row already there; (durable backends) all of it after a reopen;
 * (shared backends) two instances recording one id at once get two different revisions and agree on the last row.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageBackend } from "../../../src/storage/contracts/storage-backend.js";
import type { PluginInstallStore, PluginInstallWrite } from "../../../src/storage/contracts/plugin-install-store.js";

export interface OpenedInstallBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<StorageBackend>;
  twin?: () => Promise<StorageBackend>;
}

const write = (id: string, overrides: Partial<PluginInstallWrite> = {}): PluginInstallWrite => {
  const bytes = overrides.package === undefined ? randomBytes(3000) : overrides.package;
  return {
    id,
    action: "install",
    version: "1.0.0",
    package: bytes,
    sha256: bytes ? "ab".repeat(32) : null,
    trust: "unverified",
    signer: null,
    purge: false,
    by: "alice",
    origin: "a",
    at: "2030-05-06T07:08:09.000Z",
    ...overrides,
  };
};

export function runPluginInstallStoreContract(name: string, open: () => Promise<OpenedInstallBackend>, traits: { durable: boolean; shared: boolean }): void {
  describe(`plugin install store contract: ${name}`, () => {
    let opened: OpenedInstallBackend;
    let store: PluginInstallStore;
    const others: StorageBackend[] = [];

    beforeEach(async () => {
      opened = await open();
      store = opened.backend.pluginInstallStore();
    });
    afterEach(async () => {
      for (const other of others.splice(0)) await other.close().catch(() => undefined);
      await opened.backend.close().catch(() => undefined);
      await opened.cleanup();
    });

    it("stores a row with its package's exact bytes; an unknown id is null", async () => {
      const first = write("echo", { trust: "trusted", signer: "kind:did:x#ed25519" });
      const head = await store.putInstall(first);
      expect(head).toEqual({ ...(({ package: _p, ...rest }) => rest)(first), revision: 1, bytes: 3000 });
      const read = await store.getInstall("echo");
      expect(read?.package?.equals(first.package!)).toBe(true);
      expect({ ...read, package: null }).toEqual({ ...first, package: null, revision: 1 });
      expect(await store.getInstall("nope")).toBeNull();
    });

    it("counts revisions per id, replaces the row, and keeps a remove as a row without a package", async () => {
      await store.putInstall(write("echo"));
      await store.putInstall(write("other"));
      const second = await store.putInstall(write("echo", { action: "update", version: "2.0.0", package: Buffer.from("v2") }));
      expect(second).toMatchObject({ id: "echo", revision: 2, action: "update", version: "2.0.0", bytes: 2 });
      const removed = await store.putInstall(write("echo", { action: "remove", version: "2.0.0", package: null, sha256: null, trust: null, purge: true }));
      expect(removed).toMatchObject({ revision: 3, action: "remove", bytes: 0, purge: true, sha256: null, trust: null });
      expect(await store.getInstall("echo")).toMatchObject({ revision: 3, action: "remove", package: null });
      const listed = await store.listInstalls();
      expect(listed.map((row) => [row.id, row.revision])).toEqual([["echo", 3], ["other", 1]]);
      expect(listed.every((row) => !("package" in row))).toBe(true);
    });

    it("stores a copied row as it was, revision included, never over one already there; later puts count on from it", async () => {
      const bytes = randomBytes(5000);
      const copied = { ...write("echo", { action: "update", version: "3.0.0", package: bytes, trust: "trusted", signer: "kind:did:x#ed25519" }), revision: 7 };
      expect(await store.copyInstall(copied)).toBe(true);
      const read = await store.getInstall("echo");
      expect(read?.package?.equals(bytes)).toBe(true);
      expect({ ...read, package: null }).toEqual({ ...copied, package: null });
      expect(await store.copyInstall({ ...copied, revision: 9, version: "9.0.0" })).toBe(false);
      expect(await store.getInstall("echo")).toMatchObject({ revision: 7, version: "3.0.0" });
      expect(await store.copyInstall({ ...write("gone", { action: "remove", package: null, sha256: null, trust: null, purge: true }), revision: 2 })).toBe(true);
      expect((await store.listInstalls()).map((row) => [row.id, row.revision, row.bytes])).toEqual([["echo", 7, 5000], ["gone", 2, 0]]);
      expect(await store.putInstall(write("echo"))).toMatchObject({ revision: 8 });
    });

    if (traits.durable) {
      it("keeps the rows across a reopen", async () => {
        const bytes = randomBytes(70_000);
        await store.putInstall(write("echo", { package: bytes }));
        await opened.backend.close();
        opened.backend = await opened.reopen!();
        const read = await opened.backend.pluginInstallStore().getInstall("echo");
        expect(read?.revision).toBe(1);
        expect(read?.package?.equals(bytes)).toBe(true);
      });
    }

    if (traits.shared) {
      it("gives two instances recording one id at once two revisions, and both read the last row", async () => {
        const twin = await opened.twin!();
        others.push(twin);
        const [one, two] = await Promise.all([store.putInstall(write("echo", { origin: "a" })), twin.pluginInstallStore().putInstall(write("echo", { origin: "b" }))]);
        expect([one.revision, two.revision].sort()).toEqual([1, 2]);
        const last = one.revision === 2 ? one : two;
        expect(await twin.pluginInstallStore().getInstall("echo")).toMatchObject({ revision: 2, origin: last.origin });
        expect(await store.getInstall("echo")).toMatchObject({ revision: 2, origin: last.origin });
      });
    }
  });
}
