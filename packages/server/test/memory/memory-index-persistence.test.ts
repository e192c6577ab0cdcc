/**
 * The embedded index's saved HNSW graphs across restarts (memory/index-snapshots.ts, docs/data/memory.md "Restarts"),
 * on real SQLite with `hnswFrom` lowered to 50 so a graph exists with little data. A restart takes the saved graph
 * (the index's counters say it was loaded, not built) and answers the same hits as before, also when the graph was
 * saved by the timer after changes and the node never stopped cleanly; rows changed while the
 * node was down (a memory added, or one swapped for another so the count stays), a damaged graph file, a torn
 * sidecar, other HNSW settings or another usearch build each make it rebuild, say why in a warning, and save again.
 * Memories that expired while the node was down do not force a rebuild, and are still never returned.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { EmbeddedIndex, type EmbeddedIndexOptions } from "../../src/memory/embedded-index.js";
import type { Embedder } from "../../src/memory/gateway-embedder.js";
import { contentHashOf, MemoryService } from "../../src/memory/memory-service.js";
import { normalise } from "../../src/memory/vector-index.js";
import { openStore } from "../../src/storage/index.js";
import { EMBED_MODEL, embedText } from "./embedding-fake.js";
import { tempDirs } from "../helpers/temp-dirs.js";

const embedder: Embedder = { embed: async (_principal, texts) => ({ model: EMBED_MODEL, vectors: texts.map(embedText) }) };
const alice: Principal = { tokenId: "t-alice", owner: "alice", scopes: ["memory:read", "memory:write"], expiresAt: Number.MAX_SAFE_INTEGER };
const WORDS = ["river", "mountain", "invoice", "meeting", "garden", "server", "coffee", "train", "budget", "printer", "holiday", "kernel", "piano", "ticket", "winter", "label"];
const QUERIES = ["river mountain", "invoice budget ticket", "coffee meeting", "kernel server printer", "winter holiday train"];
const HNSW_FROM = 50;

/** The i-th memory's text: a few of the words, picked by i's digits, so texts differ and share words. */
const textOf = (i: number) => `note ${i} ${WORDS[i % 16]} ${WORDS[Math.floor(i / 16) % 16]} ${WORDS[(i * 7) % 16]}`;
const add = (text: string, ttlSeconds?: number) => ({ text, namespace: "default", metadata: {}, relations: [], ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });

const newDataDir = tempDirs("kai-memidx-");

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
}

/** One start of a node's memory on `dir`: the SQLite rows, the index with its saved graphs, the service. */
async function startNode(dir: string, options: Partial<EmbeddedIndexOptions> = {}, clock = { now: 1_900_000_000_000 }, saveDelayMs = 3_600_000) {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  const backend = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
  // By default a save delay far beyond the test: what is saved is saved by `close`, as when a node stops.
  const index = new EmbeddedIndex({ hnswFrom: HNSW_FROM, ...options }, { dir: join(dir, "memory-index"), saveDelayMs, logger });
  const service = new MemoryService({ store: backend.semanticMemoryStore(), index, embedder, logger, now: () => clock.now });
  await service.start();
  const search = async (q: string) => (await service.search({ q, namespace: "default", limit: 10 }, {}, alice)).results.map((result) => ({ id: result.memory.id, score: result.score }));
  return {
    backend, index, service, lines, search,
    warnings: () => lines.filter((line) => line.level === 40),
    stop: async () => {
      await service.close();
      await backend.close();
    },
  };
}

async function fill(node: Awaited<ReturnType<typeof startNode>>, count: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) ids.push((await node.service.add(add(textOf(i)), alice)).memory.id);
  return ids;
}

async function graphFiles(dir: string): Promise<{ sidecar: string; graph: string }> {
  const names = await readdir(join(dir, "memory-index"));
  const sidecar = names.find((name) => name.endsWith(".json"));
  const graph = names.find((name) => name.endsWith(".usearch"));
  if (!sidecar || !graph) throw new Error(`no saved graph in ${names.join(", ")}`);
  return { sidecar: join(dir, "memory-index", sidecar), graph: join(dir, "memory-index", graph) };
}

/** Starts a node whose saved graph must not be used: it rebuilds, warns with `reason`, saves again, and the next start loads. */
async function expectRebuild(dir: string, reason: RegExp, options: Partial<EmbeddedIndexOptions> = {}) {
  const node = await startNode(dir, options);
  expect(node.index.graphs).toMatchObject({ built: 1, loaded: 0 });
  expect(node.warnings().map((line) => line.reason)).toEqual([expect.stringMatching(reason)]);
  await node.stop();
  expect(node.index.graphs.saved).toBe(1);
  const again = await startNode(dir, options);
  expect(again.index.graphs).toMatchObject({ built: 0, loaded: 1 });
  expect(again.warnings()).toEqual([]);
  await again.stop();
}

describe("memory index across restarts", () => {
  it("takes the saved graph at restart, answers the same hits without rebuilding, and keeps it up to date afterwards", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    const ids = await fill(first, 120);
    expect(first.index.graphs).toMatchObject({ built: 1, loaded: 0 });
    const before = await Promise.all(QUERIES.map((q) => first.search(q)));
    expect(before.every((hits) => hits.length === 10)).toBe(true);
    await first.stop();
    expect(first.index.graphs.saved).toBe(1);

    const second = await startNode(dir);
    expect(second.index.graphs).toMatchObject({ built: 0, loaded: 1 });
    expect(second.lines.map((line) => line.msg)).toContain("memory index graph loaded from its saved file");
    expect(second.warnings()).toEqual([]);
    const after = await Promise.all(QUERIES.map((q) => second.search(q)));
    expect(after).toEqual(before);

    // The loaded graph takes adds and deletes like a built one; the changes are saved for the next start.
    const added = (await second.service.add(add("zeppelin harbour lighthouse"), alice)).memory.id;
    await second.service.delete(ids[0]!, alice);
    expect((await second.search("zeppelin harbour lighthouse"))[0]!.id).toBe(added);
    await second.stop();
    expect(second.index.graphs.saved).toBe(1);

    const third = await startNode(dir);
    expect(third.index.graphs).toMatchObject({ built: 0, loaded: 1 });
    expect((await third.search("zeppelin harbour lighthouse"))[0]!.id).toBe(added);
    expect((await third.search(textOf(0))).map((hit) => hit.id)).not.toContain(ids[0]);
    await third.stop();
    // One graph file and its sidecar: the older graph file was removed when the newer one was committed.
    expect((await readdir(join(dir, "memory-index"))).length).toBe(2);
  });

  it("saves a while after changes without waiting for a stop, so a node that crashes later still restarts from the graph", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir, {}, undefined, 100);
    await fill(first, 60);
    // The timer saves (maybe more than once, when the fill outlasts the delay): wait until nothing is left unsaved.
    await vi.waitFor(
      () => {
        expect(first.index.graphs.saved).toBeGreaterThan(0);
        expect(first.index.savePending).toBe(false);
      },
      { timeout: 10_000 },
    );
    const before = await first.search(QUERIES[1]!);
    // No close: the process is gone as after a crash.
    await first.backend.close();

    const second = await startNode(dir);
    expect(second.index.graphs).toMatchObject({ built: 0, loaded: 1 });
    expect(await second.search(QUERIES[1]!)).toEqual(before);
    await second.stop();
  });

  it("rebuilds when a memory was added while the node was down, and finds it", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    await fill(first, 80);
    await first.stop();
    // Another instance's write while this one is down, straight into the rows.
    const backend = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    const text = "zeppelin harbour lighthouse";
    const now = 1_900_000_000_000;
    await backend.semanticMemoryStore().add({
      id: "mem_0000000000behindtheback", owner: "alice", namespace: "default", text, metadata: {}, relations: [], contentHash: contentHashOf(text),
      model: EMBED_MODEL, vector: normalise(embedText(text)), createdAt: now, expiresAt: null,
    }, now);
    await backend.close();

    const second = await startNode(dir);
    expect(second.index.graphs).toMatchObject({ built: 1, loaded: 0 });
    expect(second.warnings().map((line) => line.reason)).toEqual([expect.stringMatching(/rows changed .*80 vectors, the rows have 81/)]);
    expect((await second.search(text))[0]!.id).toBe("mem_0000000000behindtheback");
    await second.stop();
  });

  it("rebuilds when the rows hold as many memories as the graph but other ones", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    const ids = await fill(first, 80);
    await first.stop();
    // One memory deleted and another added behind the saved graph's back: the count is the same, the set is not.
    const backend = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    await backend.semanticMemoryStore().delete([ids[5]!]);
    await backend.close();
    const other = await startNode(dir, {});
    expect(other.index.graphs).toMatchObject({ built: 1, loaded: 0 });
    const swapped = (await other.service.add(add("zeppelin harbour lighthouse"), alice)).memory.id;
    // Closed without saving: the saved graph still covers the 80 of before.
    await other.backend.close();

    const second = await startNode(dir);
    expect(second.index.graphs).toMatchObject({ built: 1, loaded: 0 });
    expect(second.warnings().map((line) => line.reason)).toEqual([expect.stringMatching(/rows changed .*80 vectors, the rows have 80, other ones/)]);
    expect((await second.search("zeppelin harbour lighthouse"))[0]!.id).toBe(swapped);
    expect((await second.search(textOf(5))).map((hit) => hit.id)).not.toContain(ids[5]);
    await second.stop();
  });

  it("rebuilds from the rows when the graph file is damaged, and saves a good one", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    await fill(first, 80);
    const before = await first.search(QUERIES[0]!);
    await first.stop();
    const { graph } = await graphFiles(dir);
    const bytes = await readFile(graph);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(graph, bytes);

    await expectRebuild(dir, /damaged/);
    const node = await startNode(dir);
    // A graph built anew may order memories of equal score otherwise: the scores are compared.
    const scores = (hits: Array<{ score: number }>) => hits.map((hit) => hit.score.toFixed(5));
    expect(scores(await node.search(QUERIES[0]!))).toEqual(scores(before));
    await node.stop();
  });

  it("rebuilds when the graph file is cut short or the sidecar is torn", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    await fill(first, 80);
    await first.stop();
    const { graph } = await graphFiles(dir);
    await writeFile(graph, (await readFile(graph)).subarray(0, 1000));
    await expectRebuild(dir, /bytes, the sidecar says/);

    const { sidecar } = await graphFiles(dir);
    const text = await readFile(sidecar, "utf8");
    await writeFile(sidecar, text.slice(0, text.length / 2));
    await expectRebuild(dir, /sidecar is unreadable/);
  });

  it("rebuilds when the HNSW settings or the usearch build differ from the saved graph's", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    await fill(first, 80);
    await first.stop();
    await expectRebuild(dir, /other HNSW settings/, { connectivity: 8 });

    const { sidecar } = await graphFiles(dir);
    const saved = JSON.parse(await readFile(sidecar, "utf8")) as { usearch: string };
    await writeFile(sidecar, JSON.stringify({ ...saved, usearch: "0".repeat(64) }));
    await expectRebuild(dir, /another usearch version/, { connectivity: 8 });
  });

  it("memories that expired while the node was down do not force a rebuild, and are never returned", async () => {
    const dir = await newDataDir();
    const clock = { now: 1_900_000_000_000 };
    const first = await startNode(dir, {}, clock);
    await fill(first, 70);
    const short = (await first.service.add(add("zeppelin harbour lighthouse", 60), alice)).memory.id;
    expect((await first.search("zeppelin harbour lighthouse"))[0]!.id).toBe(short);
    await first.stop();

    clock.now += 120_000;
    const second = await startNode(dir, {}, clock);
    expect(second.index.graphs).toMatchObject({ built: 0, loaded: 1 });
    expect((await second.search("zeppelin harbour lighthouse")).map((hit) => hit.id)).not.toContain(short);
    // The sweeper deletes its row and index entry; the saved graph follows at the next save.
    expect(await second.service.sweep()).toBe(1);
    await second.stop();
    const third = await startNode(dir, {}, clock);
    expect(third.index.graphs).toMatchObject({ built: 0, loaded: 1 });
    await third.stop();
  });

  it("removes the saved graph of a partition that no longer holds one", async () => {
    const dir = await newDataDir();
    const first = await startNode(dir);
    await fill(first, 60);
    await first.stop();
    const backend = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    await backend.semanticMemoryStore().deleteNamespace("alice", "default");
    await backend.close();
    const second = await startNode(dir);
    expect(second.index.graphs).toMatchObject({ built: 0, loaded: 0 });
    expect(await readdir(join(dir, "memory-index"))).toEqual([]);
    await second.stop();
  });
});
