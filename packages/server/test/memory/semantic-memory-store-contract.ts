/**
 * @module test/memory/semantic-memory-store-contract
 * The conformance suite every `SemanticMemoryStore` backend must pass (src/storage/contracts/semantic-memory-store.ts):
 * an add stores the row with its vector bit for bit; the same text in the same owner's namespace is found, not stored
 * again (another namespace or owner is another memory); an expired twin is replaced and reported; deletes by id, by
 * namespace and by expiry report what they removed; the scan pages in id order; and (durable backends) all of it
 * survives a reopen. With a `twin` (a second instance on the same database), racing adds of one text create one row.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import type { SemanticMemoryStore, StoredMemory } from "../../src/storage/contracts/semantic-memory-store.js";

export interface OpenedMemoryBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<StorageBackend>;
  twin?: () => Promise<StorageBackend>;
}

const NOW = 1_900_000_000_000;
let counter = 0;

function memory(overrides: Partial<StoredMemory> = {}): StoredMemory {
  counter++;
  const text = overrides.text ?? `memory text ${counter}`;
  return {
    id: `mem_${String(counter).padStart(12, "0")}`,
    owner: "alice",
    namespace: "default",
    text,
    metadata: { topic: "tests", n: counter, flag: true, none: null },
    relations: [],
    contentHash: createHash("sha256").update(text).digest("hex"),
    model: "embed-fake",
    vector: new Float32Array([0.6, 0.8, -0, 1e-7]),
    createdAt: NOW,
    expiresAt: null,
    ...overrides,
  };
}

export function runSemanticMemoryStoreContract(name: string, open: () => Promise<OpenedMemoryBackend>, options: { durable: boolean; shared?: boolean }): void {
  describe(`semantic memory store contract: ${name}`, () => {
    let opened: OpenedMemoryBackend;
    let store: SemanticMemoryStore;
    const extra: StorageBackend[] = [];

    beforeEach(async () => {
      opened = await open();
      store = opened.backend.semanticMemoryStore();
    });
    afterEach(async () => {
      for (const backend of extra.splice(0)) await backend.close();
      await opened.backend.close();
      await opened.cleanup();
    });

    it("stores a memory and gives it back field for field, the vector bit for bit", async () => {
      const stored = memory({ relations: ["mem_000000000001"], expiresAt: NOW + 5000 });
      const outcome = await store.add(stored, NOW);
      expect(outcome.created).toBe(true);
      expect(outcome.removed).toEqual([]);
      const read = await store.get(stored.id);
      expect(read).toEqual(stored);
      expect(Array.from(read!.vector)).toEqual(Array.from(stored.vector));
      expect(await store.get("mem_000000000000404")).toBeNull();
    });

    it("dedupes the same text in one owner's namespace, and only there", async () => {
      const first = memory({ text: "the same fact", contentHash: "a".repeat(64) });
      await store.add(first, NOW);
      const again = await store.add(memory({ text: "the same fact", contentHash: "a".repeat(64), metadata: { other: 1 } }), NOW);
      expect(again.created).toBe(false);
      expect(again.memory.id).toBe(first.id);
      expect(again.memory.metadata).toEqual(first.metadata);
      expect((await store.add(memory({ text: "the same fact", contentHash: "a".repeat(64), namespace: "elsewhere" }), NOW)).created).toBe(true);
      expect((await store.add(memory({ text: "the same fact", contentHash: "a".repeat(64), owner: "bob" }), NOW)).created).toBe(true);
    });

    it("replaces an expired twin and reports it removed", async () => {
      const old = memory({ contentHash: "b".repeat(64), expiresAt: NOW - 1 });
      await store.add(old, NOW - 10_000);
      const fresh = memory({ contentHash: "b".repeat(64) });
      const outcome = await store.add(fresh, NOW);
      expect(outcome.created).toBe(true);
      expect(outcome.removed).toEqual([{ id: old.id, owner: "alice", namespace: "default", model: "embed-fake" }]);
      expect(await store.get(old.id)).toBeNull();
    });

    it("replaces a memory's embedding, reporting the model it had; a gone memory is null", async () => {
      const a = memory();
      await store.add(a, NOW);
      const vector = new Float32Array([1, 0, 0, 0, 0, 0.5]);
      expect(await store.replaceEmbedding(a.id, "embed-large", vector)).toEqual({ id: a.id, owner: "alice", namespace: "default", model: "embed-fake" });
      const stored = await store.get(a.id);
      expect(stored).toEqual({ ...a, model: "embed-large", vector });
      // Everything else, the dedupe key included, is unchanged: the same text still finds it.
      expect((await store.add(memory({ text: a.text }), NOW)).memory.id).toBe(a.id);
      expect(await store.replaceEmbedding("mem_000000000000404", "embed-large", vector)).toBeNull();
    });

    it("deletes by id and reports only what existed", async () => {
      const a = memory();
      const b = memory();
      await store.add(a, NOW);
      await store.add(b, NOW);
      const removed = await store.delete([a.id, a.id, "mem_000000000000404"]);
      expect(removed.map((entry) => entry.id)).toEqual([a.id]);
      expect(await store.get(a.id)).toBeNull();
      expect((await store.getMany([a.id, b.id])).map((entry) => entry.id)).toEqual([b.id]);
      expect(await store.delete([])).toEqual([]);
    });

    it("lists a namespace's metadata and deletes a whole namespace of one owner only", async () => {
      const mine = [memory({ namespace: "notes" }), memory({ namespace: "notes" })];
      const bobs = memory({ namespace: "notes", owner: "bob" });
      const other = memory({ namespace: "other" });
      for (const entry of [...mine, bobs, other]) await store.add(entry, NOW);
      expect((await store.metadataIn("alice", "notes")).map((entry) => entry.id)).toEqual(mine.map((entry) => entry.id));
      expect((await store.metadataIn("alice", "notes"))[0]!.metadata).toEqual(mine[0]!.metadata);
      const removed = await store.deleteNamespace("alice", "notes");
      expect(removed.map((entry) => entry.id).sort()).toEqual(mine.map((entry) => entry.id).sort());
      expect(await store.get(bobs.id)).not.toBeNull();
      expect(await store.get(other.id)).not.toBeNull();
    });

    it("deletes expired memories in batches, never a live one", async () => {
      const expired = [memory({ expiresAt: NOW - 2 }), memory({ expiresAt: NOW }), memory({ expiresAt: NOW - 1 })];
      const live = [memory({ expiresAt: NOW + 1 }), memory({ expiresAt: null })];
      for (const entry of [...expired, ...live]) await store.add(entry, NOW - 100);
      const first = await store.deleteExpired(NOW, 2);
      expect(first).toHaveLength(2);
      const second = await store.deleteExpired(NOW, 2);
      expect([...first, ...second].map((entry) => entry.id).sort()).toEqual(expired.map((entry) => entry.id).sort());
      expect(await store.deleteExpired(NOW, 2)).toEqual([]);
      for (const entry of live) expect(await store.get(entry.id)).not.toBeNull();
    });

    it("scans every memory in id order, page by page", async () => {
      const all = Array.from({ length: 7 }, () => memory());
      for (const entry of [...all].reverse()) await store.add(entry, NOW);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await store.scan(after, 3);
        if (page.length === 0) break;
        seen.push(...page.map((entry) => entry.id));
        after = page[page.length - 1]!.id;
      }
      expect(seen).toEqual(all.map((entry) => entry.id));
    });

    if (options.durable) {
      it("keeps memories across a reopen", async () => {
        const kept = memory({ metadata: { k: "v" }, expiresAt: NOW + 1 });
        await store.add(kept, NOW);
        await opened.backend.close();
        opened.backend = await opened.reopen!();
        expect(await opened.backend.semanticMemoryStore().get(kept.id)).toEqual(kept);
      });
    }

    if (options.shared) {
      it("lets one of many racing adds of one text create it, on two instances", async () => {
        const twin = await opened.twin!();
        extra.push(twin);
        const stores = [store, twin.semanticMemoryStore()];
        const outcomes = await Promise.all(Array.from({ length: 8 }, (_, index) => stores[index % 2]!.add(memory({ contentHash: "c".repeat(64) }), NOW)));
        expect(outcomes.filter((outcome) => outcome.created)).toHaveLength(1);
        expect(new Set(outcomes.map((outcome) => outcome.memory.id)).size).toBe(1);
      });
    }
  });
}
