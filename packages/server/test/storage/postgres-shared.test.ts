/**
 * The PostgreSQL backend as several instances of one node use it: two stores on one database see each other's
 * writes at once, follow one gap-free change log (with previous records) woken by NOTIFY, agree through claimMeta,
 * and settle a registration of the same id issued on both at once with one winner and one RevisionConflict. Also
 * what it tells an operator: the connection budget it refuses to exceed, and a description without secrets.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { RevisionConflict } from "../../src/storage/contracts/node-store.js";
import { isSharedStorage, REGISTRY_CHANGES_CHANNEL, type StorageBackend, type StoredChange } from "../../src/storage/contracts/storage-backend.js";
import { PostgresStore } from "../../src/storage/postgres/pg-store.js";
import { startPostgres, testClient } from "../helpers/postgres-server.js";
import { draft, registered } from "./__fixtures__/records.js";

const server = await startPostgres({ maxConnections: 60 });
afterAll(async () => {
  await server?.stop();
});

const ADMIN = { owner: "root", admin: true };
const opened: StorageBackend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
});

async function open(url: string, extra: { poolSize?: number; expectedInstances?: number; reservedConnections?: number } = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open({ kind: "postgres", url, poolSize: extra.poolSize ?? 3, ...extra });
  opened.push(store);
  return store;
}

/** Two instances on one fresh database. */
async function pair(): Promise<[PostgresStore, PostgresStore]> {
  const url = await server!.createDatabase("shared");
  // Opened at once: both run the migrations' advisory lock dance on an empty database.
  return Promise.all([open(url), open(url)]);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(!server)("PostgreSQL shared by two instances", () => {
  it("is shared storage, and openStore opens it", async () => {
    const url = await server!.createDatabase("shared");
    const store = await openStore({ kind: "postgres", url, poolSize: 2 });
    opened.push(store);
    expect(isSharedStorage(store)).toBe(true);
    expect(isSharedStorage(await openStore({ kind: "memory" }))).toBe(false);
  });

  it("a write on one is visible on the other at once, and listings agree", async () => {
    const [a, b] = await pair();
    const event = await a.writeService(registered(draft("seen-1", { tags: ["gpu"] })));
    expect(await b.getService("seen-1")).toEqual(event.service);
    await b.writeService(registered(draft("seen-2", { tags: ["gpu"] })));
    const listA = await a.listServices({ filter: { tag: ["gpu"] }, viewer: ADMIN, limit: 10 });
    const listB = await b.listServices({ filter: { tag: ["gpu"] }, viewer: ADMIN, limit: 10 });
    expect(listA.services.map((r) => r.id)).toEqual(["seen-1", "seen-2"]);
    expect(listB).toEqual(listA);
    expect(await a.currentRevision()).toBe(await b.currentRevision());
  });

  it("revisions from both instances form one gap-free log, in order, with the previous record of each change", async () => {
    const [a, b] = await pair();
    await a.writeService(registered(draft("log-1")));
    // Concurrent writes from both sides, including updates of one id from both.
    const writes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const store = i % 2 === 0 ? a : b;
        return i % 5 === 0 ? store.writeService({ event: "updated", record: draft("log-1", { name: `v${i}` }) }) : store.writeService(registered(draft(`log-${i + 2}`)));
      }),
    );
    const deleted = await b.deleteService("log-3");
    const changes = await b.changesSince(0, 1000);
    expect(changes).not.toBe("compacted");
    const list = changes as StoredChange[];
    expect(list.map((change) => change.event.revision)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    expect(list.map((change) => change.event)).toEqual(await a.eventsSince(0, 1000));
    // Each change's previous is exactly the record as the change before it on that id left it.
    const last = new Map<string, StoredChange["event"]["service"]>();
    for (const change of list) {
      const id = change.event.service.id;
      expect(change.previous, `previous of revision ${change.event.revision}`).toEqual(last.get(id) ?? null);
      if (change.event.event === "deregistered") last.delete(id);
      else last.set(id, change.event.service);
    }
    expect(list.at(-1)).toEqual({ event: deleted, previous: deleted!.service });
    expect(new Set(writes.map((event) => event.revision)).size).toBe(40);
    // A page from the middle, on the other instance.
    const page = await a.changesSince(10, 5);
    expect(page !== "compacted" && page.map((change) => change.event.revision)).toEqual([11, 12, 13, 14, 15]);
  });

  it("the same id registered on both at once: one wins, the other gets RevisionConflict", async () => {
    const [a, b] = await pair();
    for (let round = 0; round < 5; round++) {
      const id = `race-${round}`;
      const outcomes = await Promise.allSettled([a.writeService(registered(draft(id, { name: "from a" }), 0)), b.writeService(registered(draft(id, { name: "from b" }), 0))]);
      const won = outcomes.filter((outcome) => outcome.status === "fulfilled");
      const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(RevisionConflict);
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<PostgresStore["writeService"]>>>).value;
      expect((lost[0]!.reason as RevisionConflict).actualRevision).toBe(winner.revision);
      expect(await a.getService(id)).toEqual(winner.service);
    }
  });

  it("NOTIFY tells the other instance the latest revision of each commit", async () => {
    const [a, b] = await pair();
    const heard: string[] = [];
    const stop = await b.listen(REGISTRY_CHANGES_CHANNEL, (payload) => heard.push(payload), () => undefined);
    const events = await Promise.all([a.writeService(registered(draft("n-1"))), a.writeService(registered(draft("n-2")))]);
    const latest = Math.max(...events.map((event) => event.revision));
    await until(() => heard.includes(String(latest)), "the notification");
    // A rejected write commits nothing and notifies nothing new.
    await expect(a.writeService(registered(draft("n-1"), 0))).rejects.toBeInstanceOf(RevisionConflict);
    await stop();
    await a.writeService(registered(draft("n-3")));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard.every((payload) => Number(payload) <= latest)).toBe(true);
  });

  it("writes issued together commit in one transaction: one counter bump, one notification", async () => {
    const [a, b] = await pair();
    const heard: string[] = [];
    await b.listen(REGISTRY_CHANGES_CHANNEL, (payload) => heard.push(payload), () => undefined);
    const events = await Promise.all(Array.from({ length: 50 }, (_, i) => a.writeService(registered(draft(`gc-${i}`)))));
    const last = events.at(-1)!.revision;
    expect(events.map((event) => event.revision)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await until(() => heard.includes(String(last)), "the notification");
    expect(heard).toEqual([String(last)]);
  });

  it("the listening connection comes back by itself after it is cut, and says so", async () => {
    const [a, b] = await pair();
    const heard: string[] = [];
    let reconnects = 0;
    await b.listen(REGISTRY_CHANGES_CHANNEL, (payload) => heard.push(payload), () => reconnects++);
    // Cut b's listening connection from the server side, as a restart or a network fault would.
    const admin = testClient({ connectionString: server!.url() });
    await admin.connect();
    try {
      const database = new URL(b.clientConfig.connectionString!).pathname.slice(1);
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'", [database]);
      expect(cut.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await until(() => reconnects === 1, "the reconnect");
    const event = await a.writeService(registered(draft("after-cut")));
    await until(() => heard.includes(String(event.revision)), "a notification after the reconnect");
  });

  it("claimMeta: instances claiming at once agree on one value", async () => {
    const [a, b] = await pair();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).claimMeta("registry_epoch", `epoch-${i}`)));
    expect(new Set(answers).size).toBe(1);
    expect(await b.getMeta("registry_epoch")).toBe(answers[0]);
  });

  it("heartbeats saved on either instance never move a lease backwards", async () => {
    const [a, b] = await pair();
    await a.writeService(registered(draft("beat", { ttl: 30 })));
    await Promise.all([a.saveHeartbeats([{ id: "beat", at: 5_000 }]), b.saveHeartbeats([{ id: "beat", at: 9_000 }]), a.saveHeartbeats([{ id: "beat", at: 7_000 }])]);
    expect((await b.listLeases())[0]?.heartbeatAt).toBe(9_000);
    // An update written from a view older than the latest heartbeat keeps the newer heartbeat.
    await b.writeService({ event: "updated", record: draft("beat", { ttl: 30, heartbeat: new Date(6_000).toISOString(), name: "renamed" }) });
    expect((await a.listLeases())[0]?.heartbeatAt).toBe(9_000);
    expect((await a.getService("beat"))?.name).toBe("renamed");
  });

  it("describes itself without user or password, and pings", async () => {
    const url = await server!.createDatabase("shared");
    const withSecret = url.replace("postgres://kai@", "postgres://kai:s3cret-pw@");
    const store = await open(withSecret, { poolSize: 4 });
    const name = new URL(url).pathname.slice(1);
    expect(store.description).toBe(`postgres (127.0.0.1:${server!.port}/${name}, pool 4)`);
    expect(store.description).not.toMatch(/kai@|s3cret/);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it("refuses to open when the expected instances would exceed the server's connections, saying the numbers", async () => {
    const url = await server!.createDatabase("budget");
    // max_connections 60 − 3 superuser slots − 10 reserved = 47 available; 4 × (10 + 2) = 48 needed.
    const refused = await PostgresStore.open({ kind: "postgres", url, poolSize: 10, expectedInstances: 4, reservedConnections: 10 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    const message = (refused as Error).message;
    expect(message).toMatch(/4 instance\(s\) × \(pool 10 \+ 2\) = 48 connections of 47 available/);
    expect(message).toMatch(/max_connections 60/);
    expect(message).toMatch(/storage\.postgres\.poolSize \(to 9 at most\)/);
    // Nothing was created in a database it refused.
    const check = testClient({ connectionString: url });
    await check.connect();
    try {
      expect((await check.query("SELECT to_regclass('services') AS t")).rows[0].t).toBeNull();
    } finally {
      await check.end();
    }
    // One instance fewer fits, and the budget is reported.
    const infos: string[] = [];
    const store = await PostgresStore.open({ kind: "postgres", url, poolSize: 10, expectedInstances: 3, reservedConnections: 10, logger: { warn: () => undefined, info: (msg) => infos.push(msg) } });
    opened.push(store);
    expect(store.budget).toMatchObject({ needed: 36, available: 47 });
    expect(infos.some((line) => line.includes("36 connections of 47 available"))).toBe(true);
  });
});
