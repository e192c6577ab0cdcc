/**
 * The SQLite backend: the conformance suite in both durability modes, plus what is specific to a file on
 * disk: reopening, migrations, and that an acknowledged write survives `kill -9` of the writing process.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { RevisionConflict, type ServiceDraft } from "../../src/storage/contracts/node-store.js";
import { LATEST_VERSION, MIGRATIONS } from "../../src/storage/sqlite/migrations.js";
import { encodeRecordDoc, searchText } from "../../src/storage/sqlite/record-codec.js";
import { runNodeStoreContract } from "./node-store-contract.js";
import { draft, fullDraft, registered } from "./__fixtures__/records.js";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "kai-sqlite-"));
}

/** A database file at schema `version`, as a node of that version left it (empty), open for writing its rows by hand. */
function databaseAtVersion(path: string, version: number): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  db.pragma("journal_mode = WAL");
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) db.exec(migration.sql);
  db.pragma(`user_version = ${version}`);
  return db;
}

for (const synchronous of ["full", "normal"] as const) {
  runNodeStoreContract(`sqlite synchronous=${synchronous}`, async () => {
    const dir = await tempDir();
    const store = await openStore({ kind: "sqlite", path: join(dir, "kai.db"), synchronous });
    return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
  });
}

describe("sqlite store on disk", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("describes its mode and warns when durability is relaxed", async () => {
    const warnings: string[] = [];
    const full = await openStore({ kind: "sqlite", path: join(dir, "a.db") });
    expect(full.description).toBe("sqlite (WAL, synchronous=FULL)");
    await full.close();
    const normal = await openStore({ kind: "sqlite", path: join(dir, "b.db"), synchronous: "normal", logger: { warn: (msg) => warnings.push(msg) } });
    expect(normal.description).toBe("sqlite (WAL, synchronous=NORMAL)");
    expect(warnings).toHaveLength(1);
    await normal.close();
  });

  it("is one node's: a second store on the same file is refused while the first is open, and gets it once it closes", async () => {
    const path = join(dir, "claimed", "kai.db");
    const first = await openStore({ kind: "sqlite", path });
    await first.setMeta("k", "first");
    await expect(openStore({ kind: "sqlite", path })).rejects.toThrow(`${path} is in use by another kai node (it holds ${path}.lock)`);
    // The refusal touched nothing: the first store goes on.
    await first.setMeta("k", "still first");
    await first.close();
    const second = await openStore({ kind: "sqlite", path });
    expect(await second.getMeta("k")).toBe("still first");
    await second.close();
  });

  it("keeps records, revisions, events, tokens and meta across close and reopen", async () => {
    const path = join(dir, "nested", "kai.db");
    const first = await openStore({ kind: "sqlite", path });
    const event = await first.writeService(registered(fullDraft("keep-1")));
    await first.writeService(registered(draft("keep-2")));
    await first.deleteService("keep-2");
    await first.saveHeartbeats([{ id: "keep-1", at: Date.parse("2030-01-01T00:00:00.000Z") }]);
    await first.insertToken({ id: "t", owner: "o", scopes: ["admin"], createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2026-01-01T00:00:00.000Z", revokedAt: null });
    await first.setMeta("k", "v");
    await first.compactEvents(1);
    const revision = await first.currentRevision();
    await first.close();

    const again = await openStore({ kind: "sqlite", path });
    expect(await again.currentRevision()).toBe(revision);
    expect(await again.getService("keep-1")).toEqual({ ...event.service, heartbeat: "2030-01-01T00:00:00.000Z" });
    expect(await again.getService("keep-2")).toBeNull();
    expect(await again.getToken("t")).not.toBeNull();
    expect(await again.getMeta("k")).toBe("v");
    expect(await again.eventsSince(revision - 2, 10)).toBe("compacted");
    expect((await again.writeService(registered(draft("keep-3")))).revision).toBe(revision + 1);
    // A record from before the reopen still exists for writes too: "must not exist" conflicts.
    await expect(again.writeService(registered(draft("keep-1"), 0))).rejects.toBeInstanceOf(RevisionConflict);
    await again.close();
  });

  it("stores each event's document as the record's JSON with its revision, also for text beyond ASCII and handed-over drafts", async () => {
    // The event row's document is built by SQLite from the service row's (insertEventOfService): its length and
    // substr count characters, so multi-byte text must come out exactly as JSON.stringify would write it.
    const store = await openStore({ kind: "sqlite", path: join(dir, "events.db") });
    const plain: ServiceDraft = { ...fullDraft("doc-1"), description: "héllo — 日本語 🎉 \u001f\"quoted\"" };
    const copied = await store.writeService(registered(plain));
    const handed: ServiceDraft = { ...fullDraft("doc-2"), name: "Ünïcödé 🚀" };
    const owned = await store.writeService({ ...registered(handed), handOver: true });
    // Handed over: the store set the revision on the caller's draft instead of copying it.
    expect(owned.service).toBe(handed);
    expect(copied.service).not.toBe(plain);
    const db = new BetterSqlite3(join(dir, "events.db"), { readonly: true });
    try {
      const docs = db.prepare<[], { revision: number; doc: string }>("SELECT revision, doc FROM events ORDER BY revision").all();
      expect(docs.map((row) => row.doc)).toEqual([JSON.stringify({ ...plain, revision: copied.revision }), JSON.stringify(owned.service)]);
    } finally {
      db.close();
    }
    await store.close();
  });

  it("applies migrations once and tracks them in user_version", async () => {
    const path = join(dir, "kai.db");
    for (let i = 0; i < 3; i++) {
      const store = await openStore({ kind: "sqlite", path });
      await store.writeService(registered(draft(`m-${i}`)));
      await store.close();
    }
    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(LATEST_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect((db.prepare("SELECT count(*) AS n FROM services").get() as { n: number }).n).toBe(3);
    db.close();
  });

  it("upgrades a schema-4 file (id-keyed index rows) to registration order without losing a record or a tag", async () => {
    const path = join(dir, "kai.db");
    const old = databaseAtVersion(path, 4);
    // Inserted (so registered) in an order that is not id order, each with its creating event, as schema 4 kept them.
    const drafts = [draft("zulu", { tags: ["gpu"], capabilities: ["llm_chat"] }), draft("alpha", { tags: ["gpu", "eu"] }), draft("mike", { capabilities: ["llm_chat", "embeddings"] })];
    drafts.forEach((record, index) => {
      const revision = index + 1;
      const doc = encodeRecordDoc(record);
      old.prepare("INSERT INTO events (revision, event, service_id, doc) VALUES (?, 'registered', ?, ?)").run(revision, record.id, doc);
      old
        .prepare("INSERT INTO services (id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc) VALUES (?, ?, ?, ?, NULL, ?, NULL, NULL, 0, ?, ?, ?)")
        .run(record.id, record.owner, record.visibility, record.type, record.status, revision, searchText(record), doc);
      for (const tag of record.tags) old.prepare("INSERT INTO service_tags (tag, service_id) VALUES (?, ?)").run(tag, record.id);
      for (const capability of record.capabilities) old.prepare("INSERT INTO service_capabilities (capability, service_id) VALUES (?, ?)").run(capability, record.id);
    });
    old.close();

    const store = await openStore({ kind: "sqlite", path });
    const list = async (filter = {}) => (await store.listServices({ filter, viewer: { owner: "", admin: true }, limit: 100 })).services.map((record) => record.id);
    expect(await list()).toEqual(["zulu", "alpha", "mike"]);
    expect(await list({ tag: ["gpu"] })).toEqual(["zulu", "alpha"]);
    expect(await list({ capability: ["llm_chat"], tag: ["gpu"] })).toEqual(["zulu"]);
    expect(await list({ capability: ["embeddings"] })).toEqual(["mike"]);
    // New records go after the migrated ones; an update keeps its place and moves its index rows.
    await store.writeService(registered(draft("bravo", { tags: ["gpu"] })));
    await store.writeService({ event: "updated", record: draft("zulu", { tags: ["eu"] }), expectedRevision: 1 });
    expect(await list()).toEqual(["zulu", "alpha", "mike", "bravo"]);
    expect(await list({ tag: ["gpu"] })).toEqual(["alpha", "bravo"]);
    expect(await list({ tag: ["eu"] })).toEqual(["zulu", "alpha"]);
    await store.close();
    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(LATEST_VERSION);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });

  it("upgrades a schema-14 file (a unique index on id) to rows found by seq, keeping every record, place and heartbeat", async () => {
    const path = join(dir, "kai.db");
    const old = databaseAtVersion(path, 14);
    // seq is the creating revision, as schema 5 onwards keeps it; "mike" was deleted (revision 3), a gap in seq.
    const rows: Array<[number, ServiceDraft]> = [
      [1, draft("zulu", { tags: ["gpu"], ttl: 30 })],
      [2, draft("alpha", { capabilities: ["llm_chat"] })],
      [4, draft("bravo", { tags: ["gpu", "eu"] })],
    ];
    for (const [seq, record] of rows) {
      const doc = encodeRecordDoc(record);
      old.prepare("INSERT INTO events (revision, event, service_id, doc) VALUES (?, 'registered', ?, ?)").run(seq, record.id, doc);
      old
        .prepare("INSERT INTO services (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, NULL, 0, ?, ?, ?)")
        .run(seq, record.id, record.owner, record.visibility, record.type, record.status, record.ttl ?? null, seq, searchText(record), doc);
      for (const tag of record.tags) old.prepare("INSERT INTO service_tags (tag, seq) VALUES (?, ?)").run(tag, seq);
      for (const capability of record.capabilities) old.prepare("INSERT INTO service_capabilities (capability, seq) VALUES (?, ?)").run(capability, seq);
    }
    old.prepare("INSERT INTO events (revision, event, service_id, doc) VALUES (3, 'deregistered', 'mike', ?)").run(encodeRecordDoc(draft("mike")));
    old.close();

    const store = await openStore({ kind: "sqlite", path });
    const list = async (filter = {}) => (await store.listServices({ filter, viewer: { owner: "", admin: true }, limit: 100 })).services.map((record) => record.id);
    expect(await list()).toEqual(["zulu", "alpha", "bravo"]);
    expect((await store.getService("alpha"))?.revision).toBe(2);
    expect(await store.getService("mike")).toBeNull();
    // A re-registration updates the row in place (no second row for the id), a new id goes last, a delete removes it.
    await store.writeService({ event: "updated", record: draft("zulu", { tags: ["eu"], ttl: 30 }), expectedRevision: 1 });
    await store.writeService(registered(draft("mike")));
    await store.deleteService("alpha");
    const at = Date.parse("2030-01-01T00:00:00.000Z");
    await store.saveHeartbeats([{ id: "zulu", at }]);
    expect(await list()).toEqual(["zulu", "bravo", "mike"]);
    expect(await list({ tag: ["eu"] })).toEqual(["zulu", "bravo"]);
    expect((await store.getService("zulu"))?.heartbeat).toBe("2030-01-01T00:00:00.000Z");
    expect(await store.listLeases()).toEqual([expect.objectContaining({ id: "zulu", heartbeatAt: at })]);
    await store.close();

    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(LATEST_VERSION);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.prepare("SELECT id, count(*) AS n FROM services GROUP BY id ORDER BY min(seq)").all()).toEqual([
      { id: "zulu", n: 1 },
      { id: "bravo", n: 1 },
      { id: "mike", n: 1 },
    ]);
    // No index of the table covers id any more: that is the point of the migration.
    const indexes = db.prepare("SELECT name FROM pragma_index_list('services')").pluck().all() as string[];
    expect(indexes.sort()).toEqual(["services_owner", "services_status"]);
    db.close();
  });

  it("refuses a database written by a newer schema version", async () => {
    const path = join(dir, "kai.db");
    const db = new BetterSqlite3(path);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    await expect(openStore({ kind: "sqlite", path })).rejects.toThrow(/newer/);
  });

  it("commits writes issued together in one transaction", async () => {
    const path = join(dir, "kai.db");
    const store = await openStore({ kind: "sqlite", path });
    // Count commits through SQLite's data_version from a second connection.
    const observer = new BetterSqlite3(path, { readonly: true });
    const version = () => observer.pragma("data_version", { simple: true }) as number;
    const before = version();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.writeService(registered(draft(`gc-${i}`)))));
    expect(version()).toBe(before + 1);
    await store.writeService(registered(draft("gc-single")));
    expect(version()).toBe(before + 2);
    observer.close();
    await store.close();
  });

  it("loses no acknowledged write when the writing process is killed with SIGKILL", async () => {
    for (const synchronous of ["full", "normal"] as const) {
      const path = join(dir, `crash-${synchronous}.db`);
      const script = fileURLToPath(new URL("./__fixtures__/crash-writer.ts", import.meta.url));
      const child = spawn(process.execPath, ["--import", "tsx", script, path, synchronous], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const acknowledged: string[] = [];
      const lines = createInterface({ input: child.stdout });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        lines.on("line", (line) => {
          if (line.startsWith("ack ")) acknowledged.push(line.slice(4));
          // Kill mid-stream, while writes are in flight.
          if (acknowledged.length === 400) {
            child.kill("SIGKILL");
            resolve();
          }
        });
        child.on("exit", () => reject(new Error(`writer exited before the kill: ${stderr}`)));
      });
      expect(await exited).toBe("SIGKILL");

      const db = new BetterSqlite3(path);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
      const store = await openStore({ kind: "sqlite", path });
      for (const id of acknowledged) expect(await store.getService(id), id).not.toBeNull();
      const events = await store.eventsSince(0, 1_000_000);
      expect(events !== "compacted" && events.length).toBeGreaterThanOrEqual(acknowledged.length);
      await store.close();
    }
  });
});
