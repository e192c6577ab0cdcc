/**
 * The per-token rate limit of two whole servers on one real PostgreSQL is one limit: a token spending its read
 * bucket across both instances gets exactly the bucket's size in total, then 429 from either.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { mintToken, type TestServer } from "../helpers/test-server.js";
import { startInstances, type Instances } from "./support/instances.js";

const pg: PostgresServer | null = await startPostgres();

describe.skipIf(!pg)("per-token limits across two instances", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;

  beforeAll(async () => {
    instances = await startInstances(pg!, { database: "limits", config: { rateLimit: { read: { max: 6, windowSeconds: 60 } } } });
    [a, b] = instances.servers as [TestServer, TestServer];
  }, 60_000);

  afterAll(async () => {
    await instances?.dispose();
    await pg?.stop();
  });

  test("N instances do not allow N times the limit", async () => {
    const token = await mintToken(a, ["services:read"]);
    const statuses = await Promise.all(Array.from({ length: 14 }, (_, i) => (i % 2 ? a : b).request("/api/services", { token }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
  });
});
