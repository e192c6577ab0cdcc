/**
 * The per-token rate limit of two whole servers on one real PostgreSQL is one limit: a token spending its read
 * bucket across both instances gets exactly the bucket's size in total, then 429 from either.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const pg: PostgresServer | null = await startPostgres();

describe.skipIf(!pg)("per-token limits across two instances", () => {
  let a: TestServer;
  let b: TestServer;
  let keyDir: string;

  beforeAll(async () => {
    const url = await pg!.createDatabase("limits");
    keyDir = mkdtempSync(join(tmpdir(), "kai-keys-"));
    const config = (name: string) => ({
      storage: { kind: "postgres" as const, postgres: { url, poolSize: 4 } },
      vault: { keyDir, pbkdf2Iterations: 10_000 },
      cluster: { instanceName: name },
      rateLimit: { read: { max: 6, windowSeconds: 60 } },
    });
    const env = { KAI_VAULT_PASSPHRASE: "limits passphrase" };
    a = await startTestServer({ config: config("a"), env });
    b = await startTestServer({ config: config("b"), env });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([a?.dispose(), b?.dispose()]);
    rmSync(keyDir, { recursive: true, force: true });
    await pg?.stop();
  });

  test("N instances do not allow N times the limit", async () => {
    const token = await mintToken(a, ["services:read"]);
    const statuses = await Promise.all(Array.from({ length: 14 }, (_, i) => (i % 2 ? a : b).request("/api/services", { token }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
  });
});
