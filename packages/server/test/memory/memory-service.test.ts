/**
 * The memory service over the real in-process store and the embedded index, with a clock the test moves: a memory
 * expires at its TTL (never returned from then on, before any sweep), the sweeper deletes its row, the same text
 * stored again after expiry is a new memory, and while the index is being rebuilt every call answers 503
 * `memory_index_unavailable` and stores nothing. Vectors come from the embedding fake's function, the boundary
 * where the gateway would be.
 */
import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { ApiError } from "../../src/errors.js";
import pino from "pino";
import { EmbeddedIndex } from "../../src/memory/embedded-index.js";
import type { Embedder } from "../../src/memory/gateway-embedder.js";
import { MemoryService } from "../../src/memory/memory-service.js";
import { openStore } from "../../src/storage/index.js";
import { EMBED_MODEL, embedText } from "./embedding-fake.js";

const embedder: Embedder = { embed: async (_principal, texts) => ({ model: EMBED_MODEL, vectors: texts.map(embedText) }) };
const alice: Principal = { tokenId: "t-alice", owner: "alice", scopes: ["memory:read", "memory:write"], expiresAt: Number.MAX_SAFE_INTEGER };

async function setUp() {
  const backend = await openStore({ kind: "memory" });
  const index = new EmbeddedIndex({ hnswFrom: 4 });
  let now = 1_900_000_000_000;
  const logger = pino({ level: "silent" });
  const service = new MemoryService({ store: backend.semanticMemoryStore(), index, embedder, logger, now: () => now });
  await service.start();
  return { backend, index, service, advance: (ms: number) => (now += ms) };
}

const query = (q: string, namespace = "default") => ({ q, namespace, limit: 10 });
const add = (text: string, extra: { ttlSeconds?: number } = {}) => ({ text, namespace: "default", metadata: {}, relations: [], ...extra });

describe("memory service", () => {
  it("never returns an expired memory, and the sweeper deletes its row", async () => {
    const { backend, service, advance } = await setUp();
    const short = await service.add(add("the meeting room code is 4711", { ttlSeconds: 60 }), alice);
    await service.add(add("the meeting room is on floor two"), alice);
    advance(59_999);
    expect((await service.search(query("meeting room code"), {}, alice)).results.map((result) => result.memory.id)).toContain(short.memory.id);
    advance(1);
    expect((await service.search(query("meeting room code"), {}, alice)).results.map((result) => result.memory.id)).not.toContain(short.memory.id);
    await expect(service.get(short.memory.id, alice)).rejects.toMatchObject({ code: "not_found" });
    expect(await backend.semanticMemoryStore().get(short.memory.id)).not.toBeNull();
    expect(await service.sweep()).toBe(1);
    expect(await backend.semanticMemoryStore().get(short.memory.id)).toBeNull();
    await backend.close();
  });

  it("stores the same text again once the first one expired", async () => {
    const { backend, service, advance } = await setUp();
    const first = await service.add(add("parking is free on sundays", { ttlSeconds: 1 }), alice);
    expect((await service.add(add("parking is free on sundays"), alice)).created).toBe(false);
    advance(1000);
    const second = await service.add(add("parking is free on sundays"), alice);
    expect(second.created).toBe(true);
    expect(second.memory.id).not.toBe(first.memory.id);
    expect((await service.search(query("parking sundays"), {}, alice)).results.map((result) => result.memory.id)).toEqual([second.memory.id]);
    await backend.close();
  });

  it("answers 503 memory_index_unavailable while the index is being rebuilt, and stores nothing", async () => {
    const { backend, index, service } = await setUp();
    index.markLoading();
    const refused = service.add(add("written while rebuilding"), alice);
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    await expect(refused).rejects.toMatchObject({ code: "memory_index_unavailable", status: 503 });
    await expect(service.search(query("anything"), {}, alice)).rejects.toMatchObject({ code: "memory_index_unavailable" });
    expect(await backend.semanticMemoryStore().scan(null, 10)).toEqual([]);
    index.markLoaded();
    expect((await service.add(add("written after the rebuild"), alice)).created).toBe(true);
    await backend.close();
  });

  it("two instances on one store: each tells its adds and removals, the other indexes and drops them; reconcile repairs what was missed", async () => {
    const backend = await openStore({ kind: "memory" });
    const logger = pino({ level: "silent" });
    const make = () => {
      const index = new EmbeddedIndex({ hnswFrom: 4 });
      return { index, service: new MemoryService({ store: backend.semanticMemoryStore(), index, embedder, logger }) };
    };
    const a = make();
    const b = make();
    await a.service.start();
    await b.service.start();
    const told: Array<{ added?: string[]; removed?: string[] }> = [];
    a.service.onChange((change) => told.push(change));
    const partition = `alice\ndefault\n${EMBED_MODEL}`;

    const first = await a.service.add(add("the backup runs at midnight"), alice);
    expect(told).toEqual([{ added: [first.memory.id] }]);
    // Before B hears of it, its index does not have it; once told, B finds it.
    expect(b.index.size(partition)).toBe(0);
    await b.service.indexAdded(told[0]!.added!);
    expect(b.index.size(partition)).toBe(1);
    expect((await b.service.search(query("when does the backup run"), {}, alice)).results.map((result) => result.memory.id)).toEqual([first.memory.id]);
    // Told twice (a signal delivered again): indexed once.
    await b.service.indexAdded(told[0]!.added!);
    expect(b.index.size(partition)).toBe(1);

    await a.service.delete(first.memory.id, alice);
    expect(told[1]).toEqual({ removed: [first.memory.id] });
    await b.service.forgetRemoved(told[1]!.removed!);
    expect(b.index.size(partition)).toBe(0);

    // Signals B never got: two adds and a delete. Reconciling reads the rows and repairs the index.
    const second = await a.service.add(add("the printer is on floor three"), alice);
    await a.service.add(add("the coffee machine is broken"), alice);
    expect(await b.service.reconcile()).toEqual({ added: 2, removed: 0 });
    await a.service.delete(second.memory.id, alice);
    expect(await b.service.reconcile()).toEqual({ added: 0, removed: 1 });
    expect(b.index.size(partition)).toBe(1);
    expect(b.index.size(partition)).toBe(a.index.size(partition));
    await backend.close();
  });
});
