/**
 * @module test/storage/node-store-sort-contract
 * The sorted-listing part of the NodeStore conformance suite (run by `runNodeStoreContract` on every backend:
 * memory, SQLite, PostgreSQL). The expected order comes from `compareServices` in @kai/protocol with ties by
 * registration position, so every backend is checked against the one meaning clients merge live changes by,
 * and therefore against each other. The population has what backends get wrong: case variants, non-ASCII and
 * astral names, a missing provider, equal sort values, and a registration order unlike any sort order.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { compareServices, SERVICE_SORTS, type ServiceFilter, type ServiceRecord, type ServiceSort, type SortOrder } from "@kai/protocol";
import type { NodeStore, ServiceDraft } from "../../src/storage/contracts/node-store.js";
import { InvalidCursorError } from "../../src/storage/contracts/page-cursor.js";
import type { Viewer } from "../../src/storage/contracts/viewer.js";
import { draft, iso, registered } from "./__fixtures__/records.js";

const ADMIN: Viewer = { owner: "root", admin: true };
const ORDERS: SortOrder[] = ["asc", "desc"];

const NAMES = ["alpha", "Alpha", "ALPHA", "beta", "Émile", "émile", "zeta", "Zeta", "😀 smile", "\uFF21 wide", "_under", "a b", "ab", "Beta", "ﬀ ligature", "ǅ title"];

function sortPopulation(): ServiceDraft[] {
  const types = ["agent", "tool", "service", "api"] as const;
  const statuses = ["active", "offline", "degraded", "maintenance"] as const;
  const providers = ["openai", undefined, "ollama", "Anthropic"];
  const owners = ["alice", "bob", "Carol"];
  const records: ServiceDraft[] = [];
  for (let i = 0; i < 32; i++) {
    const provider = providers[i % providers.length];
    records.push(
      draft(`sort-${String((i * 11) % 32).padStart(2, "0")}`, {
        name: NAMES[i % NAMES.length]!,
        type: types[(i >> 1) % types.length]!,
        status: statuses[(i * 3) % statuses.length]!,
        owner: owners[i % owners.length]!,
        visibility: i % 5 === 0 ? "private" : "public",
        capabilities: i % 3 === 0 ? ["llm_chat"] : [],
        // Every fourth update time repeats, so `updated` has ties too.
        updatedAt: iso(((i * 7) % 8) * 1000),
        ...(provider !== undefined ? { provider } : {}),
      }),
    );
  }
  return records;
}

async function listSorted(store: NodeStore, sort: ServiceSort, order: SortOrder, limit: number, filter: ServiceFilter = {}, viewer: Viewer = ADMIN): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.listServices({ filter, viewer, limit, sort, order, ...(cursor !== undefined ? { cursor } : {}) });
    expect(page.services.length).toBeLessThanOrEqual(limit);
    out.push(...page.services.map((record) => record.id));
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error("paging did not terminate");
}

export function runSortedListingContract(getStore: () => NodeStore): void {
  describe("sorted listing", () => {
    let registrationOrder: ServiceRecord[];

    beforeEach(async () => {
      await getStore().writeServices(sortPopulation().map((record) => registered(record)));
      registrationOrder = (await getStore().listServices({ filter: {}, viewer: ADMIN, limit: 1000 })).services;
    });

    /** The reference order: compareServices, ties by registration position in the sort's direction. */
    function expected(records: readonly ServiceRecord[], sort: ServiceSort, order: SortOrder): string[] {
      const position = new Map(registrationOrder.map((record, i) => [record.id, i]));
      const sign = order === "asc" ? 1 : -1;
      return [...records]
        .sort((a, b) => compareServices(a, b, sort, order) || sign * (position.get(a.id)! - position.get(b.id)!))
        .map((record) => record.id);
    }

    for (const sort of SERVICE_SORTS) {
      for (const order of ORDERS) {
        it(`sort=${sort} order=${order}: small pages give the same sequence as one page and as compareServices`, async () => {
          const want = expected(registrationOrder, sort, order);
          expect(await listSorted(getStore(), sort, order, 1000)).toEqual(want);
          expect(await listSorted(getStore(), sort, order, 3)).toEqual(want);
          expect(await listSorted(getStore(), sort, order, 1)).toEqual(want);
          // A filter walked from an index (capability) and a viewer who may not see everything.
          const viewer: Viewer = { owner: "bob", admin: false };
          const visible = registrationOrder.filter((record) => record.visibility !== "private" || record.owner === "bob");
          expect(await listSorted(getStore(), sort, order, 2, { capability: ["llm_chat"] }, viewer)).toEqual(
            expected(visible.filter((record) => record.capabilities.includes("llm_chat")), sort, order),
          );
        });
      }
    }

    it("sorts names case-insensitively for ASCII letters and by code point otherwise", async () => {
      const names = new Map(registrationOrder.map((record) => [record.id, record.name]));
      const sorted = (await listSorted(getStore(), "name", "asc", 5)).map((id) => names.get(id)!);
      // Every name appears twice. "_" (0x5F) sorts before lower-case letters once those are folded (it would sort
      // after "ALPHA" unfolded); case variants sit together; a full-width letter (U+FF21) sorts before an astral
      // character, as UTF-8 bytes do (JavaScript's `<` on UTF-16 units says otherwise).
      expect(sorted.slice(0, 6)).toEqual(["_under", "_under", "a b", "a b", "ab", "ab"]);
      expect(new Set(sorted.slice(6, 12))).toEqual(new Set(["alpha", "Alpha", "ALPHA"]));
      expect(sorted.slice(-4)).toEqual(["\uFF21 wide", "\uFF21 wide", "😀 smile", "😀 smile"]);
    });

    it("refuses a cursor issued for another sort or order, and a non-canonical one", async () => {
      const store = getStore();
      const byName = (await store.listServices({ filter: {}, viewer: ADMIN, limit: 2, sort: "name", order: "asc" })).nextCursor!;
      const byDefault = (await store.listServices({ filter: {}, viewer: ADMIN, limit: 2 })).nextCursor!;
      const refused: Array<[string, ServiceSort | undefined, SortOrder | undefined]> = [
        [byName, "name", "desc"],
        [byName, "owner", "asc"],
        [byName, undefined, undefined],
        [byName, "registered", "asc"],
        [byDefault, "name", "asc"],
        [byDefault, "registered", "desc"],
        [`${byName}A`, "name", "asc"],
        [Buffer.from(`${Buffer.from(byName, "base64url").toString("utf8")} `).toString("base64url"), "name", "asc"],
        [Buffer.from('$["name","asc",7,3]').toString("base64url"), "name", "asc"],
        [Buffer.from('$["updated","asc","x",3]').toString("base64url"), "updated", "asc"],
      ];
      for (const [cursor, sort, order] of refused) {
        await expect(store.listServices({ filter: {}, viewer: ADMIN, limit: 2, cursor, sort, order }), `${sort}/${order}`).rejects.toBeInstanceOf(InvalidCursorError);
      }
    });

    it("records added or removed between pages are neither duplicated nor skipped when they sort after the cursor", async () => {
      const store = getStore();
      for (const order of ORDERS) {
        const first = await store.listServices({ filter: {}, viewer: ADMIN, limit: 6, sort: "name", order });
        const seen = first.services.map((record) => record.id);
        const rest = registrationOrder.filter((record) => !seen.includes(record.id));
        // Remove one record still to come, and add one that sorts after the cursor and one before it.
        const removed = expected(rest, "name", order)[3]!;
        await store.deleteService(removed);
        const late = order === "asc" ? "\u{1F600}\u{1F600} last" : "___ last";
        const early = order === "asc" ? "___ first" : "\u{1F600}\u{1F600} first";
        await store.writeService(registered(draft(`added-after-${order}`, { name: late })));
        await store.writeService(registered(draft(`added-before-${order}`, { name: early })));
        const more: string[] = [];
        let cursor = first.nextCursor;
        while (cursor !== null) {
          const page = await store.listServices({ filter: {}, viewer: ADMIN, limit: 4, sort: "name", order, cursor });
          more.push(...page.services.map((record) => record.id));
          cursor = page.nextCursor;
        }
        const everything = (await store.listServices({ filter: {}, viewer: ADMIN, limit: 1000 })).services;
        const afterCursor = expected(everything, "name", order).filter((id) => !seen.includes(id) && id !== `added-before-${order}`);
        expect(more).toEqual(afterCursor);
        expect(more).toContain(`added-after-${order}`);
        expect(more).not.toContain(removed);
        expect(new Set([...seen, ...more]).size).toBe(seen.length + more.length);
        // Put the population back as it was for the next order.
        await store.deleteService(`added-after-${order}`);
        await store.deleteService(`added-before-${order}`);
        await store.writeService(registered(registrationOrder.find((record) => record.id === removed)!));
        registrationOrder = (await store.listServices({ filter: {}, viewer: ADMIN, limit: 1000 })).services;
      }
    });
  });
}
