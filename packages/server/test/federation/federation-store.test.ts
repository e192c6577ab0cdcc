// The FederationStore contract, on every backend: peers with cursors, import batches that commit with their
// cursor, deletes, a removed peer taking its records with it; and on SQLite and PostgreSQL, that it all survives a
// reopen. PostgreSQL runs on a real server this file starts (test/helpers/postgres-server.ts), a database per test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/index.js";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import type { PeerRow } from "../../src/storage/contracts/federation-store.js";
import { startPostgres } from "../helpers/postgres-server.js";

const postgres = await startPostgres();
afterAll(async () => {
  await postgres?.stop();
});

const peer = (did: string, overrides: Partial<PeerRow> = {}): PeerRow => ({
  did,
  url: `http://${did}.example`,
  name: null,
  trusted: true,
  addedAt: "2026-11-21T10:00:00.000Z",
  cursor: 0,
  epoch: null,
  ...overrides,
});
const row = (origin: string, serviceId: string, originRevision: number) => ({ origin, serviceId, originRevision, expiresAt: 1_900_000_000_000, statement: `{"id":"${serviceId}"}` });

const dirs: string[] = [];
const opened: StorageBackend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function sqlite(dir?: string): Promise<{ store: StorageBackend; dir: string }> {
  const path = dir ?? mkdtempSync(join(tmpdir(), "kai-fed-store-"));
  if (!dir) dirs.push(path);
  const store = await openStore({ kind: "sqlite", path: join(path, "kai.db") });
  opened.push(store);
  return { store, dir: path };
}

async function onPostgres(url?: string): Promise<{ store: StorageBackend; url: string }> {
  const at = url ?? (await postgres!.createDatabase("fed"));
  const store = await openStore({ kind: "postgres", url: at, poolSize: 2 });
  opened.push(store);
  return { store, url: at };
}

const backends: Array<readonly [string, () => Promise<StorageBackend>]> = [
  ["sqlite", async () => (await sqlite()).store],
  ["memory", async () => {
    const store = await openStore({ kind: "memory" });
    opened.push(store);
    return store;
  }],
];
if (postgres) backends.push(["postgres", async () => (await onPostgres()).store]);

for (const [name, open] of backends) {
  describe(`FederationStore contract: ${name}`, () => {
    it("keeps peers, and moves a cursor only with its batch", async () => {
      const fed = (await open()).federationStore();
      await fed.savePeer(peer("b"));
      await fed.savePeer(peer("a", { addedAt: "2026-11-21T09:00:00.000Z", name: "first" }));
      expect((await fed.listPeers()).map((p) => p.did)).toEqual(["a", "b"]);
      await fed.applyImports({ origin: "b", upserts: [row("b", "x", 3), row("b", "y", 4)], deletes: [], cursor: { revision: 4, epoch: "e1" } });
      expect((await fed.listPeers()).find((p) => p.did === "b")).toMatchObject({ cursor: 4, epoch: "e1" });
      expect((await fed.listImports()).map((r) => `${r.origin}/${r.serviceId}@${r.originRevision}`).sort()).toEqual(["b/x@3", "b/y@4"]);
    });

    it("replaces, deletes, and drops a removed peer's records with it", async () => {
      const fed = (await open()).federationStore();
      await fed.savePeer(peer("b"));
      await fed.savePeer(peer("c"));
      await fed.applyImports({ origin: "b", upserts: [row("b", "x", 3), row("b", "y", 4)], deletes: [] });
      await fed.applyImports({ origin: "c", upserts: [row("c", "x", 9)], deletes: [] });
      await fed.applyImports({ origin: "b", upserts: [row("b", "x", 5)], deletes: ["y"] });
      expect((await fed.listImports()).map((r) => `${r.origin}/${r.serviceId}@${r.originRevision}`).sort()).toEqual(["b/x@5", "c/x@9"]);
      await fed.deleteImports([{ origin: "c", serviceId: "x" }]);
      expect(await fed.deletePeer("b")).toBe(true);
      expect(await fed.deletePeer("b")).toBe(false);
      expect(await fed.listImports()).toEqual([]);
      expect((await fed.listPeers()).map((p) => p.did)).toEqual(["c"]);
    });
  });
}

describe("FederationStore on SQLite", () => {
  it("survives a reopen", async () => {
    const first = await sqlite();
    const fed = first.store.federationStore();
    await fed.savePeer(peer("b", { trusted: false, name: "bee" }));
    await fed.applyImports({ origin: "b", upserts: [row("b", "x", 3)], deletes: [], cursor: { revision: 3, epoch: "e" } });
    await first.store.close();
    const again = await sqlite(first.dir);
    const reopened = again.store.federationStore();
    expect(await reopened.listPeers()).toEqual([peer("b", { trusted: false, name: "bee", cursor: 3, epoch: "e" })]);
    expect(await reopened.listImports()).toEqual([row("b", "x", 3)]);
  });
});

describe.skipIf(!postgres)("FederationStore on PostgreSQL", () => {
  it("survives a reopen, and a second instance on the same database sees the same rows", async () => {
    const first = await onPostgres();
    const fed = first.store.federationStore();
    await fed.savePeer(peer("b", { trusted: false, name: "bee" }));
    await fed.applyImports({ origin: "b", upserts: [row("b", "x", 3), row("b", "x", 4)], deletes: [], cursor: { revision: 4, epoch: "e" } });
    const sibling = (await onPostgres(first.url)).store.federationStore();
    expect(await sibling.listImports()).toEqual([row("b", "x", 4)]);
    await first.store.close();
    const reopened = (await onPostgres(first.url)).store.federationStore();
    expect(await reopened.listPeers()).toEqual([peer("b", { trusted: false, name: "bee", cursor: 4, epoch: "e" })]);
    expect(await reopened.listImports()).toEqual([row("b", "x", 4)]);
  });
});
