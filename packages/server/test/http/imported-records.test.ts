// Changes by id to a record imported from a federation peer: the listing shows it, so a bare 404 would be a
// lie. DELETE, PATCH, heartbeat and a bulk delete answer 409 `conflict` naming the origin node (read-only here),
// the record stays listed, and ids that exist nowhere still answer 404 (`absent` in a bulk delete). A local record
// with the same id as an imported one is the local one's to change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeDid } from "../klp/support.js";
import { FAST_FEDERATION, addPeer, eventually, ids, listRemote } from "../federation/support.js";

let a: TestServer;
let b: TestServer;
let didB: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ config: { federation: FAST_FEDERATION } }), startTestServer({ config: { federation: FAST_FEDERATION } })]);
  didB = await nodeDid(b);
  for (const id of ["from-b", "both"]) expect((await b.request("/api/services/register", { method: "POST", json: registration({ id }) })).status).toBe(201);
  expect((await addPeer(a, b)).status).toBe(201);
  await eventually(() => listRemote(a), (records) => ids(records).includes("from-b") && ids(records).includes("both"));
});
afterAll(async () => Promise.all([a.dispose(), b.dispose()]));

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

describe("an imported record", () => {
  it("cannot be deleted here: 409 conflict naming its origin, and it stays listed", async () => {
    const response = await a.request("/api/services/from-b", { method: "DELETE" });
    expect(response.status).toBe(409);
    const error = await errorOf(response);
    expect(error.code).toBe("conflict");
    expect(error.message).toContain(didB);
    expect(error.message).toContain("read-only here");
    expect(ids(await listRemote(a))).toContain("from-b");
  });

  it("cannot be patched or heartbeated here either", async () => {
    const patch = await a.request("/api/services/from-b", { method: "PATCH", json: { description: "mine now" } });
    expect(patch.status).toBe(409);
    expect((await errorOf(patch)).message).toContain(didB);
    const heartbeat = await a.request("/api/services/from-b/heartbeat", { method: "POST" });
    expect(heartbeat.status).toBe(409);
    expect((await listRemote(a)).find((record) => record.id === "from-b")?.description).not.toBe("mine now");
  });

  it("cannot be removed by a bulk delete either: 409 naming its origin and the id's place, nothing of the batch removed", async () => {
    expect((await a.request("/api/services/register", { method: "POST", json: registration({ id: "local-beside" }) })).status).toBe(201);
    const response = await a.request("/api/services/bulk-delete", { method: "POST", json: { ids: ["local-beside", "from-b"] } });
    expect(response.status).toBe(409);
    const error = await errorOf(response);
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("ids.1 (from-b)");
    expect(error.message).toContain(didB);
    expect(error.message).toContain("read-only here");
    expect((await a.request("/api/services/local-beside")).status).toBe(200);
    expect(ids(await listRemote(a))).toContain("from-b");
    // An id that exists nowhere is absent, not refused; the local record goes.
    const removed = await a.request("/api/services/bulk-delete", { method: "POST", json: { ids: ["local-beside", "nowhere"] } });
    expect(await removed.json()).toMatchObject({ results: [{ id: "local-beside", action: "removed" }, { id: "nowhere", action: "absent" }] });
  });

  it("leaves a 404 for an id that exists nowhere", async () => {
    const response = await a.request("/api/services/nowhere", { method: "DELETE" });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("not_found");
  });

  it("does not shadow a local record with the same id: that one is deleted", async () => {
    expect((await a.request("/api/services/register", { method: "POST", json: registration({ id: "both" }) })).status).toBe(201);
    expect((await a.request("/api/services/both", { method: "DELETE" })).status).toBe(204);
    // Only the imported one is left, and it is read-only.
    expect((await a.request("/api/services/both", { method: "DELETE" })).status).toBe(409);
  });
});
