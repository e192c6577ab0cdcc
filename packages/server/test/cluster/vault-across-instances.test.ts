/**
 * The vault of two whole servers on one real PostgreSQL is one vault: a data-key rotation made through one
 * instance is used by the other (a secret it writes afterwards is sealed under the new key and read back on the
 * first), and the audit chain both wrote is one chain that verifies from either.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import type { TestServer } from "../helpers/test-server.js";
import { startInstances, type Instances } from "./support/instances.js";

const pg: PostgresServer | null = await startPostgres();

describe.skipIf(!pg)("one vault across two instances", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;

  beforeAll(async () => {
    instances = await startInstances(pg!, { database: "vault" });
    [a, b] = instances.servers as [TestServer, TestServer];
  }, 60_000);

  afterAll(async () => {
    await instances?.dispose();
    await pg?.stop();
  });

  const keyVersion = async (server: TestServer) => ((await (await server.request("/api/vault/status")).json()) as { keyVersion: number | null }).keyVersion;

  test("a rotation on one is used by the other, and the audit chain stays one chain", async () => {
    expect((await a.request("/api/vault/secrets/before-rotation", { method: "PUT", json: { value: "v-before" } })).status).toBeLessThan(300);
    const before = await keyVersion(b);
    expect(before).toBe(await keyVersion(a));
    expect((await a.request("/api/vault/rotate", { method: "POST", json: {} })).status).toBeLessThan(300);
    // B writes after A rotated: under the new key (it reloads the header: signal or its own check), readable on A.
    expect((await b.request("/api/vault/secrets/after-rotation", { method: "PUT", json: { value: "v-after" } })).status).toBeLessThan(300);
    expect(await keyVersion(b)).toBe(before! + 1);
    expect(await keyVersion(a)).toBe(before! + 1);
    for (const [server, name, value] of [[a, "after-rotation", "v-after"], [b, "before-rotation", "v-before"]] as const) {
      const read = await server.request(`/api/vault/secrets/${name}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { value: string }).value).toBe(value);
    }
    for (const server of [a, b]) {
      const verify = await server.request("/api/vault/audit/verify");
      expect(verify.status).toBe(200);
      expect(((await verify.json()) as { ok: boolean }).ok).toBe(true);
    }
  });
});
