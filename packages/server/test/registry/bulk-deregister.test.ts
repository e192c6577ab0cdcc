// Bulk deregistration (`POST /api/services/bulk-delete`, RegistryService.removeMany) through the real HTTP API, on
// SQLite and on a real PostgreSQL: DELETE's rules for every id (owner or admin; what the caller cannot see is
// `absent`), one transaction per batch (a refused id removes nothing), one `deregistered` event per removal on the
// WebSocket change stream, in order, and the whole batch one count in the token's write bucket. The 409 for a record
// imported from a federation peer is in test/http/imported-records.test.ts (it needs two federated nodes).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { bulkBackends, expectPublishedInOrder, post, startWithTwoOwners, subscribeToTag } from "./support/bulk-backends.js";

const pg: PostgresServer | null = await startPostgres();
afterAll(async () => pg?.stop());

const backends = bulkBackends(pg, "bulkdelete", "bulk deregistration on postgres, a test passphrase");

describe.each(backends)("bulk deregistration on $name", ({ start }) => {
  let server: TestServer;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    ({ server, alice, bob } = await startWithTwoOwners(start));
  });
  afterAll(async () => server?.dispose());

  const register = async (services: unknown[], token = alice) => expect((await post(server, "/api/services/bulk", { services }, token)).status).toBe(200);
  const removeMany = (body: unknown, token = alice) => post(server, "/api/services/bulk-delete", body, token);
  const exists = async (id: string) => (await server.request(`/api/services/${id}`)).status === 200;
  const revision = async () => ((await (await server.request("/api/services?limit=1")).json()) as { revision: number }).revision;

  it("removes a batch in one go, publishes one deregistered event per removal in order, and answers absent for unknown ids", async () => {
    await register([registration({ id: "d-1", tags: ["bd"] }), registration({ id: "d-2", tags: ["bd"], ttl: 30 }), registration({ id: "d-3", tags: ["bd"] })]);
    const { messages, socket } = await subscribeToTag(server, alice, "bd");

    const answer = await removeMany({ ids: ["d-1", "d-unknown", "d-3", "d-2"] });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual([
      { id: "d-1", action: "removed" },
      { id: "d-unknown", action: "absent" },
      { id: "d-3", action: "removed" },
      { id: "d-2", action: "removed" },
    ]);
    await expectPublishedInOrder(messages, [["deregistered", "d-1"], ["deregistered", "d-3"], ["deregistered", "d-2"]], answer.body.revision);
    for (const id of ["d-1", "d-2", "d-3"]) expect(await exists(id)).toBe(false);

    // Again: all absent, nothing written, the same revision, no event.
    const again = await removeMany({ ids: ["d-1", "d-2"] });
    expect(again.body.results?.map((result) => result.action)).toEqual(["absent", "absent"]);
    expect(again.body.revision).toBe(answer.body.revision);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages.filter((message) => message.type === "event")).toHaveLength(3);
    socket.close();
  });

  it("keeps DELETE's owner rules: another owner's service refuses the whole batch (403, the id named), a private one is absent", async () => {
    await register([registration({ id: "d-bobs" }), registration({ id: "d-bobs-private", visibility: "private" })], bob);
    await register([registration({ id: "d-mine-1" }), registration({ id: "d-mine-2" })]);
    const before = await revision();
    const refused = await removeMany({ ids: ["d-mine-1", "d-bobs", "d-mine-2"] });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe("forbidden");
    expect(refused.body.error?.message).toContain("ids.1 (d-bobs)");
    expect(refused.body.error?.message).toContain("nothing was written");
    expect(await exists("d-mine-1")).toBe(true);
    expect(await exists("d-mine-2")).toBe(true);
    expect(await revision()).toBe(before);

    // A private record of another owner: alice cannot see it, so it is absent to her (DELETE answers her 404), and stays.
    const hidden = await removeMany({ ids: ["d-mine-1", "d-bobs-private"] });
    expect(hidden.status).toBe(200);
    expect(hidden.body.results).toEqual([{ id: "d-mine-1", action: "removed" }, { id: "d-bobs-private", action: "absent" }]);
    expect(await exists("d-bobs-private")).toBe(true);

    // An admin may remove anyone's.
    const byAdmin = await removeMany({ ids: ["d-bobs", "d-bobs-private", "d-mine-2"] }, server.adminToken);
    expect(byAdmin.body.results?.map((result) => result.action)).toEqual(["removed", "removed", "removed"]);
  });

  it("refuses repeated ids, too many or none, and a malformed body with 400, removing nothing", async () => {
    await register([registration({ id: "d-keep" })]);
    const repeated = await removeMany({ ids: ["d-keep", "d-other", "d-keep"] });
    expect(repeated.status).toBe(400);
    expect(repeated.body.error?.code).toBe("validation_failed");
    expect(repeated.body.error?.details?.map((detail) => detail.path)).toEqual(["body.ids.2"]);
    expect((await removeMany({ ids: [] })).status).toBe(400);
    expect((await removeMany({ ids: Array.from({ length: 1001 }, (_, index) => `d-many-${index}`) })).status).toBe(400);
    const badId = await removeMany({ ids: ["d-keep", "not an id!"] });
    expect(badId.status).toBe(400);
    expect(badId.body.error?.details?.map((detail) => detail.path)).toContain("body.ids.1");
    for (const body of [{}, { ids: "d-keep" }, { ids: ["d-keep"], all: true }, { services: ["d-keep"] }]) {
      const answer = await removeMany(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error?.code).toBe("validation_failed");
    }
    const notJson = await server.request("/api/services/bulk-delete", { method: "POST", body: '{"ids":[', headers: { "content-type": "application/json" }, token: alice });
    expect(notJson.status).toBe(400);
    expect(await exists("d-keep")).toBe(true);
  });

  it("needs services:write", async () => {
    const reader = await mintToken(server, ["services:read"], "alice");
    expect((await removeMany({ ids: ["d-keep"] }, reader)).status).toBe(403);
    expect(await exists("d-keep")).toBe(true);
  });

  it("removes a full batch of 1000 in one request", async () => {
    const ids = Array.from({ length: 1000 }, (_, index) => `d-full-${index}`);
    await register(ids.map((id) => registration({ id })));
    const answer = await removeMany({ ids });
    expect(answer.status).toBe(200);
    expect(answer.body.results?.every((result) => result.action === "removed")).toBe(true);
    expect(await exists("d-full-0")).toBe(false);
    expect(await exists("d-full-999")).toBe(false);
  });
});

describe("bulk deregistration and the write rate limit", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { rateLimit: { write: { max: 3, windowSeconds: 600 } } } });
  });
  afterAll(async () => server?.dispose());

  it("counts a batch of 1000 removals as one request of the token's write bucket", async () => {
    const alice = await mintToken(server, ["services:read", "services:write"], "alice");
    const ids = Array.from({ length: 1000 }, (_, index) => `r-${index}`);
    const registered = await server.request("/api/services/bulk", { method: "POST", json: { services: ids.map((id) => registration({ id })) }, token: alice });
    expect(registered.status).toBe(200);
    const removed = await server.request("/api/services/bulk-delete", { method: "POST", json: { ids }, token: alice });
    expect(removed.status).toBe(200);
    expect(removed.headers.get("ratelimit-remaining")).toBe("1");
    // The token's other writes still pass, up to the limit.
    expect((await server.request("/api/services/register", { method: "POST", json: registration({ id: "r-after" }), token: alice })).status).toBe(201);
    expect((await server.request("/api/services/bulk-delete", { method: "POST", json: { ids: ["r-after"] }, token: alice })).status).toBe(429);
  });
});
