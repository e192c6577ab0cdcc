/**
 * The registry batch in one round trip on PostgreSQL (`PgServiceBatcher`): once an instance knows where the revision
 * counter stands, a batch of new records is planned before any lock or read and written by one statement that locks
 * and checks the counter itself, sent with its BEGIN and COMMIT. What users rely on: the shortcut is taken, and
 * whenever its assumption is wrong (another instance moved the counter; an id exists that no registry write put
 * there, e.g. rows copied in) nothing of it is written and the batch runs the ordinary way, with the outcome it
 * would have had without the shortcut.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { PgDatabase } from "../../src/storage/postgres/pg-database.js";
import { PostgresStore } from "../../src/storage/postgres/pg-store.js";
import { startPostgres, testClient } from "../helpers/postgres-server.js";
import { draft, registered } from "./__fixtures__/records.js";

const server = await startPostgres({ maxConnections: 40 });
afterAll(async () => {
  await server?.stop();
});

const opened: PostgresStore[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
});

async function open(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open({ kind: "postgres", url, poolSize: 3 });
  opened.push(store);
  return store;
}

/** Counts the batcher's two ways of writing from now on: one statement with BEGIN and COMMIT, or a transaction. */
function countTransactions() {
  return { oneStatement: vi.spyOn(PgDatabase.prototype, "transactionOfOne"), ordinary: vi.spyOn(PgDatabase.prototype, "transaction") };
}

const revisionsOf = async (store: PostgresStore) => {
  const changes = await store.changesSince(0, 100);
  if (changes === "compacted") throw new Error("compacted");
  return changes.map((change) => `${change.event.service.id}@${change.event.revision}`);
};

describe.skipIf(!server)("the PostgreSQL registry batch in one round trip", () => {
  it("writes batches of new records as one statement once the counter is known, revisions in order", async () => {
    const store = await open(await server!.createDatabase("onetrip"));
    await store.writeService(registered(draft("first")));
    const count = countTransactions();
    for (const id of ["n-1", "n-2", "n-3"]) await store.writeService(registered(draft(id, { tags: [`t-${id}`], capabilities: ["embeddings"] })));
    // Three at once: one batch of three.
    await Promise.all(["m-1", "m-2", "m-3"].map((id) => store.writeService(registered(draft(id)))));
    // transactionOfOne runs through transaction: every ordinary batch would be a call of transaction alone.
    expect(count.oneStatement.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(count.ordinary.mock.calls.length).toBe(count.oneStatement.mock.calls.length);
    expect(await revisionsOf(store)).toEqual(["first@1", "n-1@2", "n-2@3", "n-3@4", "m-1@5", "m-2@6", "m-3@7"]);
    const listed = await store.listServices({ filter: { tag: ["t-n-2"] }, viewer: { owner: "root", admin: true }, limit: 10 });
    expect(listed.services.map((record) => record.id)).toEqual(["n-2"]);
    expect(await store.currentRevision()).toBe(7);
  });

  it("another instance's write moved the counter: nothing of the shortcut is written, the batch follows the other's", async () => {
    const url = await server!.createDatabase("onetrip");
    const [a, b] = await Promise.all([open(url), open(url)]);
    await a.writeService(registered(draft("a-1")));
    await b.writeService(registered(draft("b-1")));
    const count = countTransactions();
    const event = await a.writeService(registered(draft("a-2")));
    expect(event.revision).toBe(3);
    // The shortcut was tried (a knew the counter at 1) and did not write; the ordinary transaction did.
    expect(count.oneStatement).toHaveBeenCalledTimes(1);
    // It wrote nothing because it found the counter moved (not through an error): its row says where the counter was.
    expect(await count.oneStatement.mock.results[0]!.value).toEqual([{ locked: "2", bumped: null, notified: null }]);
    expect(count.ordinary).toHaveBeenCalledTimes(2);
    expect(await revisionsOf(b)).toEqual(["a-1@1", "b-1@2", "a-2@3"]);
  });

  it("an id that exists without a registry write having put it there is found: the change is decided on the stored record", async () => {
    const url = await server!.createDatabase("onetrip");
    const store = await open(url);
    await store.writeService(registered(draft("original", { name: "Original" })));
    // Rows copied in behind the counter (as a bulk copy that takes no lock would): the counter does not move.
    const client = testClient({ connectionString: url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO services (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc)
         SELECT seq + 1000, 'copied', owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search,
                replace(doc, '"original"', '"copied"')
         FROM services WHERE id = 'original'`,
      );
    } finally {
      await client.end();
    }
    let decidedOn: ServiceRecord | null | undefined;
    const change = await store.changeService("copied", (existing) => {
      decidedOn = existing;
      return { event: existing ? "updated" : "registered", record: draft("copied", { name: existing ? "Updated" : "Created" }) };
    });
    // The shortcut decided on "absent" and failed on the unique id; the ordinary batch decided on the stored row.
    expect(decidedOn?.id).toBe("copied");
    expect(change.previous?.name).toBe("Original");
    expect(change.event?.event).toBe("updated");
    expect((await store.getService("copied"))?.name).toBe("Updated");
    expect(await revisionsOf(store)).toEqual(["original@1", "copied@2"]);
  });
});
