/**
 * PostgreSQL going away under a running instance: requests that need it answer a clear 503
 * `storage_unavailable` (no stack, no URL), `/readyz` takes the instance out of a load balancer, nothing
 * acknowledged before is lost, and the instance recovers by itself when the database is back.
 * Also: two instances registering one new id at the same moment: one creates it, the other does not
 * silently overwrite it; and while the database is away, an instance admits only its share of the anonymous limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import type { TestServer } from "../helpers/test-server.js";
import { waitFor } from "./support.js";
import { startInstances, type Instances } from "./support/instances.js";

const pg: PostgresServer | null = await startPostgres({ fast: false });

/** The global tier's limit for anonymous requests (per client address, shared by the instances). */
const ANONYMOUS_LIMIT = 4;

describe.skipIf(!pg)("an instance whose PostgreSQL goes away", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;

  beforeAll(async () => {
    instances = await startInstances(pg!, {
      database: "outage",
      postgres: { connectTimeoutMs: 1000 },
      cluster: { heartbeatMs: 200, memberTimeoutMs: 1500, pollIntervalMs: 300 },
      config: { rateLimit: { global: { max: ANONYMOUS_LIMIT, windowSeconds: 60 } } },
    });
    [a, b] = instances.servers as [TestServer, TestServer];
  }, 60_000);

  afterAll(async () => {
    await instances?.dispose();
    await pg?.stop();
  });

  // First in the file, while b has just started: b knew from its start that it is one of two instances (the count
  // used to be read only after five seconds, so an instance that fell back at once admitted the whole limit alone).
  test("while the database is down, an instance counts only its share of the anonymous limit", async () => {
    await pg!.kill();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < ANONYMOUS_LIMIT; i++) statuses.push((await b.request("/openapi.json", { token: null })).status);
      // Two live instances: b's share of 4 is 2, each local hit counting as two.
      expect(statuses).toEqual([200, 200, 429, 429]);
      expect(b.logs.some((line) => line.includes("rate counters: the shared store failed"))).toBe(true);
    } finally {
      await pg!.start();
    }
    await waitFor("both ready again", async () => (await fetch(`${a.url}/readyz`)).status === 200 && (await fetch(`${b.url}/readyz`)).status === 200);
  });

  test("two instances registering one new id at once: one creates it, the other updates or is refused, never a second record", async () => {
    const body = (name: string) => ({ id: "contested", name, type: "service" });
    const [ra, rb] = await Promise.all([
      a.request("/api/services/register", { method: "POST", json: body("from-a") }),
      b.request("/api/services/register", { method: "POST", json: body("from-b") }),
    ]);
    const statuses = [ra.status, rb.status].sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect([200, 409]).toContain(statuses.find((s) => s !== 201));
    const loser = ra.status === 201 ? rb : ra;
    if (loser.status === 409) expect(((await loser.json()) as { error: { code: string } }).error.code).toBe("conflict");
    const list = (await (await a.request("/api/services?q=contested")).json()) as { services: Array<{ id: string }> };
    expect(list.services.filter((s) => s.id === "contested")).toHaveLength(1);
  });

  test("answers 503 storage_unavailable and is not ready while the database is down, and recovers by itself", async () => {
    expect((await a.request("/api/services/register", { method: "POST", json: { id: "before-outage", name: "Kept", type: "service" } })).status).toBe(201);
    await pg!.kill();
    try {
      const failed = await a.request("/api/services/register", { method: "POST", json: { id: "during-outage", name: "No", type: "service" } });
      expect(failed.status).toBe(503);
      const error = (await failed.json()) as { error: { code: string; message: string } };
      expect(error.error.code).toBe("storage_unavailable");
      expect(JSON.stringify(error)).not.toContain("127.0.0.1");
      expect(JSON.stringify(error)).not.toMatch(/\bat .*\.js:\d+/);
      const ready = await fetch(`${b.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { reasons: string[] }).reasons).toContain("database unreachable");
    } finally {
      await pg!.start();
    }
    await waitFor("both ready again", async () => (await fetch(`${a.url}/readyz`)).status === 200 && (await fetch(`${b.url}/readyz`)).status === 200);
    expect((await b.request("/api/services/before-outage")).status).toBe(200);
    expect((await b.request("/api/services/during-outage")).status).toBe(404);
    expect((await b.request("/api/services/register", { method: "POST", json: { id: "after-outage", name: "Back", type: "service" } })).status).toBe(201);
    // The instances follow each other again: A sees B's write, and its own watch position moves on.
    await waitFor("B's write on A", async () => (await a.request("/api/services/after-outage")).status === 200);
  });
});
