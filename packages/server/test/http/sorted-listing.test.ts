// `GET /api/services?sort=…&order=…` end to end: the node sorts (every page, not just the first), cursors follow the
// sort they were issued for, bad values are validation errors, and the directory's remote part (records imported from
// a peer) sorts too, with `location=all` keeping "local first, then remote", each part sorted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareServices, ErrorBodySchema, ListServicesResponseSchema, type ServiceRecord, type ServiceSort, type SortOrder } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { FAST_FEDERATION, addPeer, eventually, listRemote } from "../federation/support.js";

let a: TestServer;
let b: TestServer;
const LOCAL = ["delta", "Alpha", "charlie", "bravo", "echo"];
const REMOTE = ["Yankee", "x-ray", "zulu"];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ config: { federation: FAST_FEDERATION } }), startTestServer({ config: { federation: FAST_FEDERATION } })]);
  for (const name of LOCAL) {
    const json = registration({ id: `local-${name.toLowerCase()}`, name, provider: name === "echo" ? "ollama" : "openai" });
    if (name === "charlie") delete json.provider;
    expect((await a.request("/api/services/register", { method: "POST", json })).status).toBe(201);
  }
  for (const name of REMOTE) expect((await b.request("/api/services/register", { method: "POST", json: registration({ id: `remote-${name.toLowerCase()}`, name }) })).status).toBe(201);
  expect((await addPeer(a, b)).status).toBe(201);
  await eventually(() => listRemote(a), (records) => records.length === REMOTE.length);
});
afterAll(async () => Promise.all([a?.dispose(), b?.dispose()]));

/** Every page of a listing, `limit` records at a time. */
async function pages(on: TestServer, query: string, limit: number): Promise<ServiceRecord[]> {
  const out: ServiceRecord[] = [];
  let cursor: string | null = null;
  do {
    const response = await on.request(`/api/services?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(response.status).toBe(200);
    const page = ListServicesResponseSchema.parse(await response.json());
    out.push(...page.services);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

const names = (records: ServiceRecord[]) => records.map((record) => record.name);
const byName = (list: string[], order: SortOrder) => [...list].sort((x, y) => (order === "asc" ? 1 : -1) * (x.toLowerCase() < y.toLowerCase() ? -1 : 1));

describe("GET /api/services sorted on the node", () => {
  it("sorts every page by name, either way, case-insensitively", async () => {
    expect(names(await pages(a, "sort=name", 2))).toEqual(byName(LOCAL, "asc"));
    expect(names(await pages(a, "sort=name&order=desc", 2))).toEqual(byName(LOCAL, "desc"));
  });

  it("orders as compareServices does for every sort key, a missing provider first", async () => {
    for (const sort of ["provider", "owner", "status", "type", "updated"] as ServiceSort[]) {
      for (const order of ["asc", "desc"] as SortOrder[]) {
        const listed = await pages(a, `sort=${sort}&order=${order}`, 2);
        expect(listed).toHaveLength(LOCAL.length);
        // Each record sorts at or after the one before it (ties are the node's to order).
        for (let i = 1; i < listed.length; i++) expect(compareServices(listed[i - 1]!, listed[i]!, sort, order), `${sort} ${order} @${i}`).toBeLessThanOrEqual(0);
      }
    }
    expect((await pages(a, "sort=provider", 10))[0]!.name).toBe("charlie");
  });

  it("registration order stays the default, and desc reverses it", async () => {
    expect(names(await pages(a, "", 2))).toEqual(LOCAL);
    expect(names(await pages(a, "sort=registered&order=desc", 2))).toEqual([...LOCAL].reverse());
  });

  it("answers 400 validation_failed for an unknown sort or order, and for a cursor of another sort", async () => {
    for (const query of ["sort=colour", "order=up", "sort=NAME"]) {
      const response = await a.request(`/api/services?${query}`);
      expect(response.status, query).toBe(400);
      expect(ErrorBodySchema.parse(await response.json()).error.code).toBe("validation_failed");
    }
    const first = ListServicesResponseSchema.parse(await (await a.request("/api/services?sort=name&limit=1")).json());
    for (const query of ["sort=name&order=desc", "sort=owner", ""]) {
      const response = await a.request(`/api/services?${query}&limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`);
      expect(response.status, query).toBe(400);
      expect(ErrorBodySchema.parse(await response.json()).error.code).toBe("validation_failed");
    }
  });

  it("sorts the imported records too, and location=all lists local then remote, each part sorted", async () => {
    expect(names(await pages(a, "location=remote&sort=name", 1))).toEqual(byName(REMOTE, "asc"));
    expect(names(await pages(a, "location=remote&sort=name&order=desc", 2))).toEqual(byName(REMOTE, "desc"));
    expect(names(await pages(a, "location=all&sort=name&order=desc", 2))).toEqual([...byName(LOCAL, "desc"), ...byName(REMOTE, "desc")]);
    expect(names(await pages(a, "location=all&sort=name", 3))).toEqual([...byName(LOCAL, "asc"), ...byName(REMOTE, "asc")]);
    // A remote cursor of one sort is refused under another.
    const first = ListServicesResponseSchema.parse(await (await a.request("/api/services?location=remote&sort=name&limit=1")).json());
    const response = await a.request(`/api/services?location=remote&sort=owner&limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(response.status).toBe(400);
  });
});
