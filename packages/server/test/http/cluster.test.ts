// The cluster surface of one process on SQLite, over real sockets: `GET /api/cluster` (admin) answers mode
// `single` with this instance as the one instance and the leader, running every singleton job, caught up and
// ready; `GET /api/status` carries the same facts in its `cluster` summary; `GET /readyz` needs no token, answers
// 200 while the instance can serve and 503 with "vault locked" while the vault is locked, and is ready again once
// it is unlocked. Hostile query strings change none of it. Both routes are in the OpenAPI document: /readyz without
// bearer security and with both answers, /api/cluster with its response schema.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { CLUSTER_JOBS, ClusterResponseSchema, ErrorBodySchema, ReadyzResponseSchema, StatusResponseSchema } from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { fetchOpenApi, leaksStackTrace } from "./support/api-surface.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { cluster: { instanceName: "alpha" } } });
});
afterAll(async () => server?.dispose());

async function cluster() {
  const response = await server.request("/api/cluster");
  expect(response.status, await response.clone().text()).toBe(200);
  return ClusterResponseSchema.parse(await response.json());
}

async function readyz(query = ""): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${server.url}/readyz${query}`);
  return { status: response.status, body: await response.json(), headers: response.headers };
}

describe("GET /api/cluster on one process", () => {
  it("answers mode single: this instance is the one instance and the leader, runs every job, is caught up and ready", async () => {
    const answer = await cluster();
    expect(answer.mode).toBe("single");
    expect(answer.instance.name).toBe("alpha");
    expect(answer.instances).toHaveLength(1);
    const [self] = answer.instances;
    expect(self).toMatchObject({ id: answer.instance.id, name: "alpha", url: server.url, leader: true, lagRevisions: 0, ready: true, vault: "unlocked" });
    // Every job but scheduled backups, which run only when `backup.schedule` is on.
    expect([...self!.jobs].sort()).toEqual(CLUSTER_JOBS.filter((job) => job !== "backups").sort());
    expect(answer.leader).toMatchObject({ instanceId: answer.instance.id, name: "alpha" });
    expect(answer.storage.kind).toBe("sqlite");
    expect(answer.storage.description).toBeTruthy();
    expect(answer.cache).toEqual({ redis: "off" });
  });

  it("reports the registry revision the instance has applied", async () => {
    await server.request("/api/services/register", { method: "POST", json: registration({ id: "cluster-rev" }) });
    const status = StatusResponseSchema.parse(await (await server.request("/api/status")).json());
    const [self] = (await cluster()).instances;
    expect(status.registry.revision).toBeGreaterThan(0);
    expect(self!.revision).toBe(status.registry.revision);
  });

  it("is for admins only", async () => {
    const reader = await mintToken(server, ["services:read", "services:write", "vault:admin", "metrics:read", "federation:admin"]);
    const refused = await server.request("/api/cluster", { token: reader });
    expect(refused.status).toBe(403);
    expect(ErrorBodySchema.parse(await refused.json()).error.code).toBe("forbidden");
    expect((await server.request("/api/cluster", { token: null })).status).toBe(401);
  });
});

describe("GET /api/status: the cluster summary", () => {
  it("names this instance and the leader (with since), counts live instances, and gives mode and cache", async () => {
    const reader = await mintToken(server, ["services:read"]);
    const status = StatusResponseSchema.parse(await (await server.request("/api/status", { token: reader })).json());
    const full = await cluster();
    expect(status.cluster).toEqual({
      mode: "single",
      instance: full.instance,
      leader: { instanceId: full.leader!.instanceId, name: full.leader!.name, since: full.leader!.since },
      instances: 1,
      cache: { redis: "off" },
    });
  });
});

describe("GET /readyz", () => {
  it("answers 200 ready without a token, and is never cached", async () => {
    const answer = await readyz();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ready" });
    expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  it("answers 503 with \"vault locked\" while the vault is locked, and 200 again once it is unlocked", async () => {
    expect((await server.request("/api/vault/lock", { method: "POST" })).status).toBe(200);
    try {
      const locked = await readyz();
      expect(locked.status).toBe(503);
      expect(ReadyzResponseSchema.parse(locked.body)).toEqual({ status: "not_ready", reasons: ["vault locked"] });
      const [self] = (await cluster()).instances;
      expect(self).toMatchObject({ ready: false, vault: "locked" });
      // Liveness is another question: the instance is alive and recovers by itself.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      const unlocked = await server.request("/api/vault/unlock", { method: "POST" });
      expect(unlocked.status, await unlocked.text()).toBe(200);
    }
    expect((await readyz()).status).toBe(200);
    expect((await cluster()).instances[0]).toMatchObject({ ready: true, vault: "unlocked" });
  });

  it("ignores whatever query string comes with it, and the cluster route answers the same through any", async () => {
    const query = fc.oneof(
      fc.string({ maxLength: 60 }).map((text) => `?${encodeURIComponent(text)}=${encodeURIComponent(text)}`),
      fc.constantFrom("?status=not_ready", "?reasons[]=x&reasons[]=y", "?%zz=1", "?a=%", "?token=forged", "?__proto__[ready]=0", `?x=${"a".repeat(4000)}`),
    );
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const probe = await readyz(q);
        expect(probe.status, q).toBe(200);
        expect(probe.body).toEqual({ status: "ready" });
        const response = await server.request(`/api/cluster${q}`);
        const text = await response.text();
        expect(leaksStackTrace(text), text.slice(0, 200)).toBe(false);
        if (response.status === 200) expect(ClusterResponseSchema.parse(JSON.parse(text)).mode).toBe("single");
        else {
          // Only a query the router itself refuses (malformed escapes) may fail, and only as a client error.
          expect(response.status, `${q} → ${text.slice(0, 200)}`).toBe(400);
          expect(ErrorBodySchema.parse(JSON.parse(text)).error.code).toBe("validation_failed");
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("the OpenAPI document", () => {
  it("documents /readyz as a public probe with its 200 and 503 answers, and /api/cluster as a bearer route", async () => {
    const doc = await fetchOpenApi(server);
    const probe = doc.paths["/readyz"]?.get;
    expect(probe?.security ?? []).toEqual([]);
    expect(Object.keys(probe?.responses ?? {}).sort()).toEqual(["200", "503"]);
    const route = doc.paths["/api/cluster"]?.get;
    expect(route?.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(route?.responses ?? {})).toEqual(expect.arrayContaining(["200", "401", "403", "503"]));
    expect(JSON.stringify(route?.responses?.["200"])).toContain("lagRevisions");
  });
});
