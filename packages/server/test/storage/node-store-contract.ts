/**
 * @module test/storage/node-store-contract
 * The conformance suite every `NodeStore` backend must pass. A backend's test file calls
 * `runNodeStoreContract(name, open)`; `open` returns a fresh, empty store and a cleanup. The expected answers
 * of listings come from a reference model (`matchesFilter` from @kai/protocol plus the visibility rule),
 * so the suite checks the backend against the meaning of a filter, not against itself.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { matchesFilter, SERVICE_STATUSES, type RegistryEvent, type ServiceFilter, type ServiceRecord } from "@kai/protocol";
import { RevisionConflict, type NodeStore, type ServiceDraft, type TokenRow } from "../../src/storage/contracts/node-store.js";
import { InvalidCursorError } from "../../src/storage/contracts/page-cursor.js";
import type { Viewer } from "../../src/storage/contracts/viewer.js";
import { draft, fullDraft, iso, registered } from "./__fixtures__/records.js";
import { runSortedListingContract } from "./node-store-sort-contract.js";

export type OpenNodeStore = () => Promise<{ store: NodeStore; cleanup: () => Promise<void> }>;

const ADMIN: Viewer = { owner: "root", admin: true };

function visibleTo(viewer: Viewer, record: ServiceRecord): boolean {
  return viewer.admin || record.visibility !== "private" || record.owner === viewer.owner;
}

async function listAll(store: NodeStore, filter: ServiceFilter, viewer: Viewer, limit = 1000): Promise<ServiceRecord[]> {
  const out: ServiceRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.listServices({ filter, viewer, limit, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(...page.services);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error("paging did not terminate");
}

const ids = (records: readonly { id: string }[]) => records.map((record) => record.id);

/** A varied population for filter tests: every combination shows up with a few members. */
function population(): ServiceDraft[] {
  const types = ["agent", "tool", "service", "api"] as const;
  const owners = ["alice", "bob", "carol"];
  const visibilities = ["public", "internal", "private"] as const;
  const providers = ["openai", "ollama", undefined];
  const capabilityPool = ["llm_chat", "embeddings", "image_generation", "code_execution"];
  const tagPool = ["gpu", "eu", "us", "beta", "Fast"];
  const records: ServiceDraft[] = [];
  for (let i = 0; i < 48; i++) {
    const provider = providers[i % 3];
    records.push(
      draft(`svc-${String(i).padStart(2, "0")}${i % 7 === 0 ? ".Zeta" : ""}`, {
        name: i % 5 === 0 ? `Chat Bot ${i}` : `Worker ${i}`,
        description: i % 4 === 0 ? "Handles EMBEDDINGS for search" : "generic",
        type: types[i % types.length]!,
        owner: owners[i % owners.length]!,
        visibility: visibilities[Math.floor(i / 3) % 3]!,
        status: SERVICE_STATUSES[i % SERVICE_STATUSES.length]!,
        capabilities: capabilityPool.filter((_, k) => (i >> k) & 1),
        tags: tagPool.filter((_, k) => ((i * 7) >> k) & 1),
        ...(provider !== undefined ? { provider } : {}),
      }),
    );
  }
  return records;
}

/** The population in the order the listing tests register it: not id order, so that the two orders differ. */
function inRegistrationOrder(records: ServiceDraft[]): ServiceDraft[] {
  // Stride 7 over 48 visits every index once (7 and 48 are coprime), scrambling id order deterministically.
  return records.map((_, i) => records[(i * 7 + 5) % records.length]!);
}

export function runNodeStoreContract(name: string, open: OpenNodeStore): void {
  describe(`NodeStore contract: ${name}`, () => {
    let store: NodeStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await store.close().catch(() => undefined);
      await cleanup();
    });

    describe("service writes", () => {
      it("round-trips every field of a record and assigns the event's revision", async () => {
        const record = fullDraft("full-1");
        const event = await store.writeService(registered(record));
        expect(event.event).toBe("registered");
        expect(event.service).toEqual({ ...record, revision: event.revision });
        expect(await store.getService("full-1")).toEqual({ ...record, revision: event.revision });
        expect(await store.getService("absent")).toBeNull();
      });

      it("hands every read a record of its own: changing it changes neither the store nor the next read", async () => {
        // The registry sets `health` and the live heartbeat on what a read returns, in place (registry-service.ts).
        await store.writeService(registered(draft("own-1")));
        const got = await store.getService("own-1");
        const listed = (await store.listServices({ filter: {}, viewer: ADMIN, limit: 10 })).services.find((r) => r.id === "own-1");
        got!.name = "changed by a reader";
        listed!.name = "changed by another reader";
        expect((await store.getService("own-1"))?.name).toBe(draft("own-1").name);
        expect((await store.listServices({ filter: {}, viewer: ADMIN, limit: 10 })).services.find((r) => r.id === "own-1")?.name).toBe(draft("own-1").name);
      });

      it("getServices reads a batch in the order asked, null where absent", async () => {
        await store.writeServices([registered(draft("many-1")), registered(draft("many-2"))]);
        const read = await store.getServices(["many-2", "many-absent", "many-1"]);
        expect(read.map((record) => record?.id ?? null)).toEqual(["many-2", null, "many-1"]);
        expect(read[0]).toEqual(await store.getService("many-2"));
        expect(await store.getServices([])).toEqual([]);
      });

      it("round-trips a minimal record (absent optional fields stay absent)", async () => {
        const record = draft("min-1");
        await store.writeService(registered(record));
        const stored = await store.getService("min-1");
        expect(stored).not.toBeNull();
        for (const key of ["provider", "url", "protocol", "healthCheck", "rateLimit", "version", "ttl", "isLocal", "statusNote"]) {
          expect(stored).not.toHaveProperty(key);
        }
        expect(stored?.heartbeat).toBeNull();
      });

      it("starts at revision 0 and assigns strictly increasing revisions in call order", async () => {
        expect(await store.currentRevision()).toBe(0);
        const events = await Promise.all(Array.from({ length: 20 }, (_, i) => store.writeService(registered(draft(`r-${i}`)))));
        const revisions = events.map((event) => event.revision);
        for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBe(revisions[i - 1]! + 1);
        expect(revisions[0]).toBeGreaterThan(0);
        expect(await store.currentRevision()).toBe(revisions[revisions.length - 1]);
        const later = await store.writeService({ event: "updated", record: draft("r-0", { name: "renamed" }) });
        expect(later.revision).toBe(revisions[revisions.length - 1]! + 1);
        expect((await store.getService("r-0"))?.revision).toBe(later.revision);
      });

      it("writeServices applies every write in order, one revision each", async () => {
        const events = await store.writeServices([registered(draft("b-1")), registered(draft("b-2")), { event: "updated", record: draft("b-1", { name: "again" }) }]);
        expect(events.map((event) => [event.event, event.service.id])).toEqual([
          ["registered", "b-1"],
          ["registered", "b-2"],
          ["updated", "b-1"],
        ]);
        expect(events[1]!.revision).toBe(events[0]!.revision + 1);
        expect(events[2]!.revision).toBe(events[1]!.revision + 1);
        expect((await store.getService("b-1"))?.name).toBe("again");
        expect(await store.writeServices([])).toEqual([]);
      });

      it("rejects a write whose expectedRevision does not match with RevisionConflict", async () => {
        const first = await store.writeService(registered(draft("c-1"), 0));
        const conflict = await store.writeService(registered(draft("c-1"), 0)).catch((error: unknown) => error);
        expect(conflict).toBeInstanceOf(RevisionConflict);
        expect((conflict as RevisionConflict).serviceId).toBe("c-1");
        expect((conflict as RevisionConflict).actualRevision).toBe(first.revision);
        await expect(store.writeService({ event: "updated", record: draft("c-1"), expectedRevision: first.revision + 5 })).rejects.toBeInstanceOf(RevisionConflict);
        await expect(store.writeService({ event: "updated", record: draft("c-2"), expectedRevision: 3 })).rejects.toBeInstanceOf(RevisionConflict);
        const ok = await store.writeService({ event: "updated", record: draft("c-1", { name: "v2" }), expectedRevision: first.revision });
        expect(ok.revision).toBe(first.revision + 1);
        // A rejected write uses no revision and leaves no event.
        expect(await store.currentRevision()).toBe(ok.revision);
        const events = await store.eventsSince(0, 100);
        expect(events !== "compacted" && events.map((event) => event.revision)).toEqual([first.revision, ok.revision]);
      });

      it("two registrations of the same new id issued together: the first lands, the second conflicts", async () => {
        const [first, second] = await Promise.allSettled([store.writeService(registered(draft("twin"), 0)), store.writeService(registered(draft("twin"), 0))]);
        expect(first.status).toBe("fulfilled");
        expect(second.status === "rejected" && second.reason).toBeInstanceOf(RevisionConflict);
        const [removal, comeback] = await Promise.allSettled([store.deleteService("twin"), store.writeService(registered(draft("twin"), 0))]);
        expect(removal.status === "fulfilled" && removal.value?.event).toBe("deregistered");
        expect(comeback.status).toBe("fulfilled");
        expect((await store.getService("twin"))?.revision).toBe(comeback.status === "fulfilled" ? comeback.value.revision : -1);
      });

      it("a conflicting write among concurrent writes fails alone; the others land", async () => {
        await store.writeService(registered(draft("taken")));
        const outcomes = await Promise.allSettled([
          store.writeService(registered(draft("g-1"), 0)),
          store.writeService(registered(draft("taken"), 0)),
          store.writeService(registered(draft("g-2"), 0)),
          store.deleteService("g-1", 999),
          store.writeService(registered(draft("g-3"))),
        ]);
        expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
        expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(RevisionConflict);
        expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(RevisionConflict);
        const landed = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" && outcome.value ? [(outcome.value as RegistryEvent).revision] : []));
        expect(landed).toEqual([landed[0], landed[0]! + 1, landed[0]! + 2]);
        expect(ids(await listAll(store, {}, ADMIN))).toEqual(["taken", "g-1", "g-2", "g-3"]);
      });

      it("writeServices is all-or-nothing: one conflict rejects the whole call", async () => {
        await store.writeService(registered(draft("a-1")));
        const before = await store.currentRevision();
        await expect(store.writeServices([registered(draft("a-2")), registered(draft("a-1"), 0)])).rejects.toBeInstanceOf(RevisionConflict);
        expect(await store.getService("a-2")).toBeNull();
        expect(await store.currentRevision()).toBe(before);
      });

      it("deleteService removes the record and appends a deregistered event carrying its last state", async () => {
        const record = fullDraft("d-1");
        const written = await store.writeService(registered(record));
        const event = await store.deleteService("d-1");
        expect(event?.event).toBe("deregistered");
        expect(event?.revision).toBe(written.revision + 1);
        expect(event?.service).toEqual({ ...record, revision: written.revision });
        expect(await store.getService("d-1")).toBeNull();
        expect(await store.deleteService("d-1")).toBeNull();
        expect(await listAll(store, { tag: ["gpu"] }, ADMIN)).toEqual([]);
        expect(await store.currentRevision()).toBe(written.revision + 1);
        // The id can be registered again as new.
        await store.writeService(registered(draft("d-1"), 0));
      });

      it("deleteService honours expectedRevision", async () => {
        const written = await store.writeService(registered(draft("d-2")));
        await expect(store.deleteService("d-2", written.revision + 1)).rejects.toBeInstanceOf(RevisionConflict);
        expect(await store.getService("d-2")).not.toBeNull();
        expect((await store.deleteService("d-2", written.revision))?.event).toBe("deregistered");
      });

      it("deleteServices removes several records in one call: one deregistered event each, in order, null where absent", async () => {
        const record = fullDraft("dm-1");
        const [first, second] = await store.writeServices([registered(record), registered(draft("dm-2", { tags: ["gpu"] }))]);
        const events = await store.deleteServices([
          { id: "dm-1", expectedRevision: first!.revision },
          { id: "dm-absent" },
          { id: "dm-2", expectedRevision: second!.revision },
          // Named again after its delete: absent by then.
          { id: "dm-1" },
        ]);
        expect(events.map((event) => event?.event ?? null)).toEqual(["deregistered", null, "deregistered", null]);
        expect(events[0]?.service).toEqual({ ...record, revision: first!.revision });
        expect(events[2]?.revision).toBe(events[0]!.revision + 1);
        expect(await store.currentRevision()).toBe(events[2]!.revision);
        expect(await store.eventsSince(second!.revision, 10)).toEqual([events[0], events[2]]);
        expect(await store.getServices(["dm-1", "dm-2"])).toEqual([null, null]);
        expect(await listAll(store, { tag: ["gpu"] }, ADMIN)).toEqual([]);
        expect(await store.deleteServices([])).toEqual([]);
        // The ids can be registered again as new.
        await store.writeServices([registered(draft("dm-1"), 0), registered(draft("dm-2"), 0)]);
        expect(ids(await listAll(store, {}, ADMIN))).toEqual(["dm-1", "dm-2"]);
      });

      it("deleteServices is all-or-nothing: one conflict rejects the whole call and every record stays", async () => {
        const [one, two] = await store.writeServices([registered(draft("dn-1", { tags: ["keep"] })), registered(draft("dn-2"))]);
        const before = await store.currentRevision();
        const refused = store.deleteServices([{ id: "dn-1", expectedRevision: one!.revision }, { id: "dn-2", expectedRevision: two!.revision + 1 }]);
        await expect(refused).rejects.toBeInstanceOf(RevisionConflict);
        expect(await store.currentRevision()).toBe(before);
        expect((await store.getServices(["dn-1", "dn-2"])).map((record) => record?.id ?? null)).toEqual(["dn-1", "dn-2"]);
        expect(ids(await listAll(store, { tag: ["keep"] }, ADMIN))).toEqual(["dn-1"]);
        // Nothing of the refused call lingers: the record is still where it was, to update and to delete.
        await store.writeService({ event: "updated", record: draft("dn-1", { name: "still here" }), expectedRevision: one!.revision });
        expect(ids(await listAll(store, {}, ADMIN))).toEqual(["dn-1", "dn-2"]);
        expect((await store.deleteServices([{ id: "dn-1" }]))[0]?.service.name).toBe("still here");
        expect(await store.getService("dn-1")).toBeNull();
      });

      it("deletes issued together with registrations of new records all land (none answered absent while it stays)", async () => {
        await store.writeServices([registered(draft("dt-1")), registered(draft("dt-2")), registered(draft("dt-3"))]);
        // Writes of the same turn may share one storage batch: a delete in it must still be decided on the stored row.
        const [, single, many] = await Promise.all([
          store.writeService(registered(draft("dt-new-1"), 0)),
          store.deleteService("dt-1"),
          store.deleteServices([{ id: "dt-2" }, { id: "dt-3" }]),
          store.writeService(registered(draft("dt-new-2"), 0)),
        ]);
        expect(single?.event).toBe("deregistered");
        expect(many.map((event) => event?.event)).toEqual(["deregistered", "deregistered"]);
        expect(ids(await listAll(store, {}, ADMIN))).toEqual(["dt-new-1", "dt-new-2"]);
      });

      it("changeService decides from the stored record (null when absent) and writes what it decided, against it", async () => {
        const seen: Array<ServiceRecord | null> = [];
        const created = await store.changeService("ch-1", (existing) => {
          seen.push(existing);
          return { event: "registered", record: draft("ch-1", { tags: ["a"] }) };
        });
        expect(seen.at(-1)).toBeNull();
        expect(created.previous).toBeNull();
        expect(created.event?.event).toBe("registered");
        const stored = await store.getService("ch-1");
        expect(stored).toEqual(created.event?.service);
        await store.writeService(registered(draft("ch-2")));
        const updated = await store.changeService("ch-1", (existing) => {
          seen.push(existing);
          return { event: "updated", record: draft("ch-1", { name: `after ${existing?.revision}`, tags: ["b"] }) };
        });
        expect(seen.at(-1)).toEqual(stored);
        expect(updated.previous).toEqual(stored);
        expect(updated.event?.revision).toBe((await store.currentRevision()));
        expect((await store.getService("ch-1"))?.name).toBe(`after ${stored?.revision}`);
        const events = await store.eventsSince(updated.event!.revision - 1, 10);
        expect(events !== "compacted" && events.map((event) => [event.event, event.service.id])).toEqual([["updated", "ch-1"]]);
        // An update keeps the record's place in the listing; its terms are replaced.
        expect(ids(await listAll(store, {}, ADMIN))).toEqual(["ch-1", "ch-2"]);
        expect(ids(await listAll(store, { tag: ["a"] }, ADMIN))).toEqual([]);
        expect(ids(await listAll(store, { tag: ["b"] }, ADMIN))).toEqual(["ch-1"]);
      });

      it("changeService writes nothing when the decision is null, and passes a refusal on while other writes land", async () => {
        const first = await store.writeService(registered(draft("ch-3")));
        const unchanged = await store.changeService("ch-3", () => null);
        expect(unchanged).toEqual({ previous: first.service, event: null });
        expect(await store.currentRevision()).toBe(first.revision);
        const refusal = new Error("refused by the decision");
        const outcomes = await Promise.allSettled([
          store.writeService(registered(draft("ch-4"), 0)),
          store.changeService("ch-3", () => {
            throw refusal;
          }),
          store.changeService("ch-5", () => ({ event: "registered", record: draft("ch-5") })),
        ]);
        expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
        expect((outcomes[1] as PromiseRejectedResult).reason).toBe(refusal);
        expect((await store.getService("ch-3"))?.revision).toBe(first.revision);
        expect(await store.currentRevision()).toBe(first.revision + 2);
      });

      it("two changeService calls on one new id issued together never both create it", async () => {
        const decide = (name: string) => (existing: ServiceRecord | null) =>
          ({ event: existing ? ("updated" as const) : ("registered" as const), record: draft("ch-twin", { name }) });
        const [first, second] = await Promise.allSettled([store.changeService("ch-twin", decide("one")), store.changeService("ch-twin", decide("two"))]);
        expect(first.status === "fulfilled" && first.value.event?.event).toBe("registered");
        // A backend that decides under its write lock shows the second call the first one's record; one that reads
        // and then writes conditionally refuses it. Either way the first write is never overwritten unseen.
        if (second.status === "fulfilled") {
          expect(second.value.previous?.name).toBe("one");
          expect(second.value.event?.event).toBe("updated");
        } else {
          expect(second.reason).toBeInstanceOf(RevisionConflict);
        }
        const events = await store.eventsSince(0, 10);
        expect(events !== "compacted" && events.filter((event) => event.event === "registered").length).toBe(1);
      });

      it("replaces tags and capabilities on update", async () => {
        await store.writeService(registered(draft("t-1", { tags: ["a", "b"], capabilities: ["llm_chat"] })));
        await store.writeService({ event: "updated", record: draft("t-1", { tags: ["b", "c"], capabilities: ["embeddings"] }) });
        expect(ids(await listAll(store, { tag: ["a"] }, ADMIN))).toEqual([]);
        expect(ids(await listAll(store, { tag: ["c"] }, ADMIN))).toEqual(["t-1"]);
        expect(ids(await listAll(store, { capability: ["llm_chat"] }, ADMIN))).toEqual([]);
        expect(ids(await listAll(store, { capability: ["embeddings"] }, ADMIN))).toEqual(["t-1"]);
      });
    });

    describe("events", () => {
      it("lists events in revision order with their types and payloads", async () => {
        const a = await store.writeService(registered(draft("e-1")));
        const b = await store.writeService({ event: "updated", record: draft("e-1", { name: "new name" }) });
        const c = await store.writeService({ event: "status_changed", record: draft("e-1", { name: "new name", status: "offline", statusNote: "lease expired" }) });
        const d = await store.deleteService("e-1");
        const events = await store.eventsSince(0, 100);
        expect(events).toEqual([a, b, c, d]);
        expect(await store.eventsSince(a.revision, 2)).toEqual([b, c]);
        expect(await store.eventsSince(d!.revision, 10)).toEqual([]);
        expect(await store.eventsSince(d!.revision + 100, 10)).toEqual([]);
      });

      it("compaction keeps the newest events, answers 'compacted' for older resume points, and never reuses a revision", async () => {
        const written: RegistryEvent[] = [];
        for (let i = 0; i < 10; i++) written.push(await store.writeService(registered(draft(`k-${i}`))));
        const last = written[9]!.revision;
        await store.compactEvents(4);
        const tail = await store.eventsSince(last - 4, 100);
        expect(tail).toEqual(written.slice(6));
        expect(await store.eventsSince(last - 5, 100)).toBe("compacted");
        expect(await store.eventsSince(0, 100)).toBe("compacted");
        expect(await store.currentRevision()).toBe(last);

        await store.compactEvents(0);
        expect(await store.eventsSince(last, 100)).toEqual([]);
        expect(await store.eventsSince(last - 1, 100)).toBe("compacted");
        expect(await store.currentRevision()).toBe(last);
        const next = await store.writeService(registered(draft("k-new")));
        expect(next.revision).toBe(last + 1);
        expect(await store.eventsSince(last, 100)).toEqual([next]);
        // Compacting with a larger keep than before drops nothing more and undoes nothing.
        await store.compactEvents(1000);
        expect(await store.eventsSince(last, 100)).toEqual([next]);
      });

      it("a never-compacted log returns everything from revision 0", async () => {
        await store.compactEvents(100);
        for (let i = 0; i < 3; i++) await store.writeService(registered(draft(`n-${i}`)));
        const events = await store.eventsSince(0, 100);
        expect(events !== "compacted" && events.length).toBe(3);
      });
    });

    describe("listing", () => {
      const viewers: Viewer[] = [ADMIN, { owner: "alice", admin: false }, { owner: "bob", admin: false }, { owner: "nobody", admin: false }];
      let all: ServiceRecord[];
      const registrationOrder = inRegistrationOrder(population()).map((record) => record.id);

      beforeEach(async () => {
        await store.writeServices(inRegistrationOrder(population()).map((record) => registered(record)));
        all = await listAll(store, {}, ADMIN);
      });

      function expected(filter: ServiceFilter, viewer: Viewer): string[] {
        return ids(all.filter((record) => visibleTo(viewer, record) && matchesFilter(record, filter)));
      }

      it("returns every record in registration order for an admin", () => {
        expect(all).toHaveLength(48);
        expect(ids(all)).toEqual(registrationOrder);
        expect(ids(all)).not.toEqual([...ids(all)].sort());
      });

      it("an update keeps a record's place; deleting and registering it again moves it to the end", async () => {
        const [first, second] = all;
        await store.writeService({ event: "updated", record: { ...draft(first!.id), description: "changed" }, expectedRevision: first!.revision });
        expect(ids(await listAll(store, {}, ADMIN))).toEqual(registrationOrder);
        await store.deleteService(second!.id);
        await store.writeService(registered(draft(second!.id, { tags: ["gpu"] })));
        const order = ids(await listAll(store, {}, ADMIN));
        expect(order).toEqual([...registrationOrder.filter((id) => id !== second!.id), second!.id]);
        // The index rows follow the record: found by its new tag, at its new place, under a filter too.
        expect(ids(await listAll(store, { tag: ["gpu"] }, ADMIN, 2)).at(-1)).toBe(second!.id);
      });

      it("refuses a cursor it did not issue", async () => {
        const page = await store.listServices({ filter: {}, viewer: ADMIN, limit: 1 });
        const issued = page.nextCursor!;
        // An id-ordered cursor of earlier versions (base64url of an id), a bare number, garbage, a non-canonical form.
        for (const cursor of [Buffer.from(all[0]!.id).toString("base64url"), Buffer.from("12").toString("base64url"), "%%%", "", `${issued}=`, Buffer.from("#0").toString("base64url")]) {
          await expect(store.listServices({ filter: {}, viewer: ADMIN, limit: 1, cursor }), cursor).rejects.toBeInstanceOf(InvalidCursorError);
        }
      });

      const cases: Array<[string, ServiceFilter]> = [
        ["no filter", {}],
        ["one type", { type: ["agent"] }],
        ["any of two types", { type: ["agent", "tool"] }],
        ["no type at all", { type: [] }],
        ["status any-of", { status: ["offline", "degraded"] }],
        ["one tag", { tag: ["gpu"] }],
        ["all of two tags", { tag: ["gpu", "eu"] }],
        ["tags are case-sensitive", { tag: ["fast"] }],
        ["one capability", { capability: ["llm_chat"] }],
        ["all of three capabilities", { capability: ["llm_chat", "embeddings", "code_execution"] }],
        ["capability and tag", { capability: ["embeddings"], tag: ["us"] }],
        ["provider", { provider: "ollama" }],
        ["owner", { owner: "bob" }],
        ["visibility", { visibility: "private" }],
        ["q over name, case-insensitive", { q: "chat bot" }],
        ["q over description", { q: "embeddings" }],
        ["q over id", { q: ".zeta" }],
        ["q over tags", { q: "fas" }],
        ["q over provider", { q: "llam" }],
        ["q that matches nothing", { q: "no-such-text" }],
        ["everything at once", { type: ["agent", "service", "api"], status: ["active", "offline"], capability: ["llm_chat"], tag: ["gpu"], provider: "openai", owner: "alice", visibility: "public", q: "o" }],
        ["unknown capability", { capability: ["no_such"] }],
      ];
      for (const [label, filter] of cases) {
        it(`filter: ${label}`, async () => {
          for (const viewer of viewers) {
            expect(ids(await listAll(store, filter, viewer)), `viewer ${viewer.owner}`).toEqual(expected(filter, viewer));
          }
        });
      }

      it("filters agree with matchesFilter for random filters", async () => {
        const some = <T>(values: readonly T[]) => fc.subarray([...values], { minLength: 0, maxLength: 3 });
        const filterArb = fc.record(
          {
            type: some(["agent", "tool", "service", "api", "device"] as const),
            status: some(SERVICE_STATUSES),
            tag: some(["gpu", "eu", "us", "beta", "Fast"]),
            capability: some(["llm_chat", "embeddings", "image_generation", "code_execution"]),
            provider: fc.constantFrom("openai", "ollama"),
            owner: fc.constantFrom("alice", "bob", "carol"),
            visibility: fc.constantFrom("public", "internal", "private" as const),
            q: fc.constantFrom("o", "chat", "SVC-1", "gpu", "worker 3"),
          },
          { requiredKeys: [] },
        );
        await fc.assert(
          fc.asyncProperty(filterArb, fc.constantFrom(...viewers), fc.integer({ min: 1, max: 7 }), async (filter, viewer, limit) => {
            expect(ids(await listAll(store, filter as ServiceFilter, viewer, limit))).toEqual(expected(filter as ServiceFilter, viewer));
          }),
          { numRuns: 150 },
        );
      });

      it("pages with a cursor cover every record exactly once, in registration order", async () => {
        for (const limit of [1, 5, 47, 48, 49]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await store.listServices({ filter: {}, viewer: ADMIN, limit, ...(cursor !== undefined ? { cursor } : {}) });
            expect(page.services.length).toBeLessThanOrEqual(limit);
            seen.push(...ids(page.services));
            cursor = page.nextCursor ?? undefined;
            pages++;
          } while (cursor !== undefined);
          expect(seen).toEqual(ids(all));
          expect(pages).toBe(Math.ceil(48 / limit));
        }
      });

      it("a cursor stays valid while records are added and removed, and skips none registered meanwhile", async () => {
        const first = await store.listServices({ filter: {}, viewer: ADMIN, limit: 10 });
        await store.deleteService(first.services[9]!.id);
        await store.deleteService(all[20]!.id);
        await store.writeService(registered(draft("aaa-before-everything")));
        await store.writeService(registered(draft("zzz-after-everything")));
        const page2 = await store.listServices({ filter: {}, viewer: ADMIN, limit: 1000, cursor: first.nextCursor! });
        // In id order "aaa-…" would fall before the cursor and be missed; in registration order it comes last.
        expect(ids(page2.services)).toEqual([...registrationOrder.slice(10).filter((id) => id !== all[20]!.id), "aaa-before-everything", "zzz-after-everything"]);
      });

      it("private records are seen only by their owner and admins", async () => {
        const privateOfBob = all.filter((record) => record.visibility === "private" && record.owner === "bob");
        expect(privateOfBob.length).toBeGreaterThan(0);
        const forAlice = ids(await listAll(store, {}, { owner: "alice", admin: false }));
        const forBob = ids(await listAll(store, {}, { owner: "bob", admin: false }));
        for (const record of privateOfBob) {
          expect(forAlice).not.toContain(record.id);
          expect(forBob).toContain(record.id);
        }
      });

      it("countServices counts what the viewer may see, by status", async () => {
        for (const viewer of viewers) {
          const counts = await store.countServices(viewer);
          const want = Object.fromEntries(SERVICE_STATUSES.map((status) => [status, all.filter((r) => visibleTo(viewer, r) && r.status === status).length]));
          expect(counts).toEqual(want);
        }
      });
    });

    runSortedListingContract(() => store);

    it("countServices reports every status, zero when empty", async () => {
      expect(await store.countServices(ADMIN)).toEqual({ active: 0, degraded: 0, offline: 0, maintenance: 0 });
    });

    describe("leases and heartbeats", () => {
      it("listLeases returns every record with a ttl", async () => {
        const withTtl = await store.writeService(registered(draft("l-1", { ttl: 30, heartbeat: iso(500), owner: "bob", visibility: "private", status: "degraded" })));
        await store.writeService(registered(draft("l-2")));
        const neverBeat = await store.writeService(registered(draft("l-3", { ttl: 90 })));
        expect(await store.listLeases()).toEqual([
          { id: "l-1", ttl: 30, heartbeatAt: Date.parse(iso(500)), status: "degraded", owner: "bob", visibility: "private", revision: withTtl.revision, updatedAt: Date.parse(iso()) },
          { id: "l-3", ttl: 90, heartbeatAt: null, status: "active", owner: "alice", visibility: "public", revision: neverBeat.revision, updatedAt: Date.parse(iso()) },
        ]);
      });

      it("saveHeartbeats changes the heartbeat but not the revision, the events or the rest of the record", async () => {
        const written = await store.writeService(registered(fullDraft("h-1")));
        const at = Date.parse(iso(60_000));
        await store.saveHeartbeats([{ id: "h-1", at }, { id: "no-such-service", at }]);
        const stored = await store.getService("h-1");
        expect(stored).toEqual({ ...written.service, heartbeat: new Date(at).toISOString() });
        expect(await store.currentRevision()).toBe(written.revision);
        expect(await store.eventsSince(0, 100)).toEqual([written]);
        expect((await store.listLeases())[0]?.heartbeatAt).toBe(at);
        // Heartbeat times do not go backwards.
        await store.saveHeartbeats([{ id: "h-1", at: at - 10_000 }]);
        expect((await store.getService("h-1"))?.heartbeat).toBe(new Date(at).toISOString());
        await store.saveHeartbeats([]);
      });
    });

    describe("tokens and meta", () => {
      const token = (id: string, extra: Partial<TokenRow> = {}): TokenRow => ({
        id,
        owner: "alice",
        scopes: ["services:read", "services:write"],
        createdAt: iso(),
        expiresAt: iso(86_400_000),
        revokedAt: null,
        ...extra,
      });

      it("inserts, gets, lists and revokes tokens", async () => {
        await store.insertToken(token("tok-1", { name: "ci" }));
        await store.insertToken(token("tok-2", { scopes: ["admin"], createdAt: iso(10) }));
        expect(await store.getToken("tok-1")).toEqual(token("tok-1", { name: "ci" }));
        expect(await store.getToken("tok-2")).not.toHaveProperty("name");
        expect(await store.getToken("nope")).toBeNull();
        expect((await store.listTokens()).map((row) => row.id).sort()).toEqual(["tok-1", "tok-2"]);
        expect(await store.revokeToken("tok-1", iso(5000))).toBe(true);
        expect((await store.getToken("tok-1"))?.revokedAt).toBe(iso(5000));
        expect(await store.revokeToken("nope", iso(5000))).toBe(false);
        await expect(store.insertToken(token("tok-1"))).rejects.toThrow();
      });

      it("stores meta values", async () => {
        expect(await store.getMeta("last-run")).toBeNull();
        await store.setMeta("last-run", "one");
        await store.setMeta("last-run", "two");
        expect(await store.getMeta("last-run")).toBe("two");
      });

      it("claimMeta sets a value only when there is none, and every caller gets the one stored", async () => {
        expect(await store.claimMeta("epoch", "first")).toBe("first");
        expect(await store.claimMeta("epoch", "second")).toBe("first");
        expect(await store.getMeta("epoch")).toBe("first");
        // Claims issued together agree on one winner.
        const answers = await Promise.all(["a", "b", "c", "d"].map((value) => store.claimMeta("node-key", value)));
        expect(new Set(answers).size).toBe(1);
        expect(await store.getMeta("node-key")).toBe(answers[0]);
        // A value set earlier wins over a claim; setMeta still replaces it.
        await store.setMeta("set-first", "kept");
        expect(await store.claimMeta("set-first", "other")).toBe("kept");
        await store.setMeta("set-first", "replaced");
        expect(await store.getMeta("set-first")).toBe("replaced");
      });
    });

    describe("close", () => {
      it("commits writes issued before close and rejects calls after it", async () => {
        const pending = store.writeService(registered(draft("x-1")));
        await store.close();
        await expect(pending).resolves.toMatchObject({ event: "registered" });
        await expect(store.getService("x-1")).rejects.toThrow();
        await expect(store.writeService(registered(draft("x-2")))).rejects.toThrow();
        await expect(store.listServices({ filter: {}, viewer: ADMIN, limit: 10 })).rejects.toThrow();
        await expect(store.currentRevision()).rejects.toThrow();
        await expect(store.getMeta("k")).rejects.toThrow();
        await expect(store.setMeta("k", "v")).rejects.toThrow();
        await expect(store.close()).resolves.toBeUndefined();
      });
    });
  });
}
