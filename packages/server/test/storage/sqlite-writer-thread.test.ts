/**
 * Service writes committed by the writer thread (storage/sqlite/writer-thread.ts): what the thread's own
 * transaction can get wrong that the conformance suite does not reach: a write that fails inside the
 * thread, a service written twice in one batch, close() with writes still queued, and that the thread
 * writes byte for byte what the in-process path writes. The suite itself also runs without the thread.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import { WriterThread } from "../../src/storage/sqlite/writer-thread.js";
import type { WriteOp } from "../../src/storage/sqlite/write-statements.js";
import { migrate } from "../../src/storage/sqlite/migrations.js";
import { openDatabase } from "../../src/storage/sqlite/open-database.js";
import { RevisionConflict } from "../../src/storage/contracts/node-store.js";
import { runNodeStoreContract } from "./node-store-contract.js";
import { draft, fullDraft, registered } from "./__fixtures__/records.js";

/** A trigger that makes the thread's INSERT of the service `bad` fail, after planning accepted it. */
function refuseIdBad(path: string): void {
  const other = new BetterSqlite3(path);
  other.exec("CREATE TRIGGER refuse_bad BEFORE INSERT ON services WHEN NEW.id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END");
  other.close();
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "kai-writer-"));
}

runNodeStoreContract("sqlite on disk without the writer thread", async () => {
  const dir = await tempDir();
  const store = SqliteStore.open({ path: join(dir, "kai.db"), writerThread: false });
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("sqlite writer thread", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a write that fails inside the thread's transaction fails alone, and uses no revision", async () => {
    const path = join(dir, "kai.db");
    const store = SqliteStore.open({ path });
    refuseIdBad(path);
    const outcomes = await Promise.allSettled([
      store.writeService(registered(draft("ok-1", { tags: ["t"] }))),
      store.writeService(registered(draft("bad", { tags: ["t"] }))),
      store.writeService(registered(draft("ok-2", { tags: ["t"] }))),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/refused by test trigger/);
    const revisions = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.revision] : []));
    expect(revisions).toEqual([1, 2]);
    expect(await store.currentRevision()).toBe(2);
    const events = await store.eventsSince(0, 100);
    expect(events !== "compacted" && events.map((event) => [event.revision, event.service.id])).toEqual([
      [1, "ok-1"],
      [2, "ok-2"],
    ]);
    const page = await store.listServices({ filter: { tag: ["t"] }, viewer: { owner: "", admin: true }, limit: 10 });
    expect(page.services.map((service) => service.id)).toEqual(["ok-1", "ok-2"]);
    // The store goes on working.
    expect((await store.writeService(registered(draft("ok-3")))).revision).toBe(3);
    await store.close();
  });

  it("a service written twice in one batch: the second write sees the first", async () => {
    const store = SqliteStore.open({ path: join(dir, "kai.db") });
    const [first, second, third] = await Promise.all([
      store.writeService(registered(draft("twice", { tags: ["old"], capabilities: ["a"] }), 0)),
      store.writeService({ event: "updated", record: draft("twice", { tags: ["new"], capabilities: ["a", "b"] }), expectedRevision: 1 }),
      // Planned against the first write's revision, which the second one replaced: a conflict.
      store.writeService({ event: "updated", record: draft("twice", { name: "stale" }), expectedRevision: 1 }).catch((error: unknown) => error),
    ]);
    expect([first.revision, second.revision]).toEqual([1, 2]);
    expect(third).toBeInstanceOf(RevisionConflict);
    expect((third as RevisionConflict).actualRevision).toBe(2);
    const viewer = { owner: "", admin: true };
    const ids = async (filter: { tag?: string[]; capability?: string[] }) =>
      (await store.listServices({ filter, viewer, limit: 10 })).services.map((service) => service.id);
    expect(await ids({ tag: ["old"] })).toEqual([]);
    expect(await ids({ tag: ["new"] })).toEqual(["twice"]);
    expect(await ids({ capability: ["b"] })).toEqual(["twice"]);
    expect((await store.getService("twice"))?.revision).toBe(2);
    await store.close();
  });

  it("close() commits the writes still queued before it ends the thread", async () => {
    const path = join(dir, "kai.db");
    const store = SqliteStore.open({ path });
    const writes = Array.from({ length: 30 }, (_, i) => store.writeService(registered(draft(`q-${i}`))));
    await store.close();
    expect((await Promise.all(writes)).map((event) => event.revision)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const reopened = SqliteStore.open({ path });
    expect(await reopened.currentRevision()).toBe(30);
    expect(await reopened.getService("q-29")).not.toBeNull();
    await reopened.close();
  });

  it("writes the same rows as the in-process path", async () => {
    const dump = async (writerThread: boolean) => {
      const path = join(dir, `${String(writerThread)}.db`);
      const store = SqliteStore.open({ path, writerThread });
      await Promise.all([store.writeService(registered(fullDraft("full"))), store.writeService(registered(draft("plain", { tags: ["x", "y"] })))]);
      await store.writeService({ event: "updated", record: { ...fullDraft("full"), tags: ["gpu", "other"], capabilities: ["embeddings"] }, expectedRevision: 1 });
      await store.deleteService("plain");
      await store.close();
      const db = new BetterSqlite3(path, { readonly: true });
      const rows = {
        services: db.prepare("SELECT * FROM services ORDER BY id").all(),
        events: db.prepare("SELECT * FROM events ORDER BY revision").all(),
        tags: db.prepare("SELECT * FROM service_tags ORDER BY tag, seq").all(),
        capabilities: db.prepare("SELECT * FROM service_capabilities ORDER BY capability, seq").all(),
      };
      db.close();
      return rows;
    };
    const threaded = await dump(true);
    expect(threaded.events).toHaveLength(4);
    expect(threaded).toEqual(await dump(false));
  });

  it("after a failed transaction the thread refuses those sent before resume() (planned on top of it) and runs those sent after", async () => {
    const path = join(dir, "kai.db");
    const db = openDatabase({ path, synchronous: "full" });
    migrate(db);
    db.close();
    const thread = new WriterThread({ path, pragmas: [] });
    const tag = (name: string): WriteOp => ["insertTags", 0, [name, 1]];
    const outcomes = await Promise.allSettled([
      // Two events with one revision: the second breaks the primary key, so the whole transaction is rolled back.
      thread.run([tag("a"), ["insertEvent", 0, [1, "registered", "x", "{}"]], ["insertEvent", 0, [1, "registered", "y", "{}"]]]),
      thread.run([tag("b")]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/planned after a transaction that failed/);
    thread.resume();
    await thread.run([tag("c")]);
    await thread.close();
    const check = new BetterSqlite3(path, { readonly: true });
    expect(check.prepare("SELECT tag FROM service_tags ORDER BY tag").pluck().all()).toEqual(["c"]);
    expect(check.prepare("SELECT count(*) FROM events").pluck().get()).toBe(0);
    check.close();
  });

  it("bulk writes planned while the thread commits the one before: revisions without gaps, and a batch planned on top of a failed one is planned again", async () => {
    const path = join(dir, "kai.db");
    const store = SqliteStore.open({ path });
    refuseIdBad(path);
    // Each batch plans well over the pipelining threshold (a row, an event and tag and capability rows per record).
    const batch = (prefix: string, count: number, last?: string) =>
      Array.from({ length: count }, (_, i) => registered(draft(i === count - 1 && last ? last : `${prefix}-${i}`, { tags: ["t", prefix], capabilities: ["c"] })));
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const first = store.writeServices(batch("a", 200, "bad")).catch((error: unknown) => error);
    await turn();
    const second = store.writeServices(batch("b", 200));
    await turn();
    const third = store.writeServices(batch("c", 200));
    expect(String(await first)).toMatch(/refused by test trigger/);
    const revisions = [...(await second), ...(await third)].map((event) => event.revision);
    expect(revisions).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(await store.currentRevision()).toBe(400);
    const events = await store.eventsSince(0, 1000);
    expect(events !== "compacted" && events.map((event) => event.service.id)).toEqual([...batch("b", 200), ...batch("c", 200)].map((write) => write.record.id));
    expect(await store.getService("a-0")).toBeNull();
    expect((await store.getService("c-199"))?.revision).toBe(400);
    // Written again while the batch before it (which wrote them first) may still be in flight: each sees the other.
    const updates = store.writeServices(batch("b", 200).map((write) => ({ ...write, event: "updated" as const, expectedRevision: write.record.id === "b-0" ? 1 : undefined })));
    await turn();
    const again = store.writeServices(batch("b", 200).map((write) => ({ ...write, event: "updated" as const })));
    expect((await updates).map((event) => event.revision)).toEqual(Array.from({ length: 200 }, (_, i) => 401 + i));
    expect((await again).map((event) => event.revision)).toEqual(Array.from({ length: 200 }, (_, i) => 601 + i));
    const page = await store.listServices({ filter: { tag: ["b"] }, viewer: { owner: "", admin: true }, limit: 1000 });
    expect(page.services).toHaveLength(200);
    expect(page.services.every((service) => service.revision > 600)).toBe(true);
    await store.close();
    const reopened = SqliteStore.open({ path });
    expect(await reopened.currentRevision()).toBe(800);
    expect((await reopened.getService("b-0"))?.revision).toBe(601);
    // One row per id: the re-writes updated the rows the batch before them inserted (there is no index on id to refuse a
    // second row; the store's id -> seq map decides between insert and update).
    const all = await reopened.listServices({ filter: {}, viewer: { owner: "", admin: true }, limit: 1000 });
    expect(all.services.map((service) => service.id)).toEqual([...batch("b", 200), ...batch("c", 200)].map((write) => write.record.id));
    await reopened.close();
  });
});
