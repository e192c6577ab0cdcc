// Many subscriptions arriving at once on a node on PostgreSQL, whose pool holds few connections: every one gets its
// snapshot, none an "unavailable" error. Each snapshot is a read that needs a pool connection; read all at once, the
// ones that waited longest gave up (`storage_unavailable`, "could not build a snapshot") — the bench's thousand
// multiplexed subscribers on PostgreSQL failed that way. Snapshots now take turns (DirectoryWatch's SNAPSHOTS_AT_ONCE).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRegistrySocket } from "../helpers/registry-socket.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";

const pg: PostgresServer | null = await startPostgres();
afterAll(async () => pg?.stop());

const SUBSCRIPTIONS = 300;

describe.skipIf(!pg)("many snapshots at once on PostgreSQL", () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer({
      env: { KAI_VAULT_PASSPHRASE: "many snapshots on postgres, a test passphrase" },
      config: {
        rateLimit: { enabled: false },
        // Two connections, and a short wait for one: what a busy pool looks like to a thousand subscribers.
        storage: { kind: "postgres", postgres: { url: await pg!.createDatabase("snapshots"), poolSize: 2, connectTimeoutMs: 200 } },
        cluster: { expectedInstances: 1 },
      },
    });
    token = await mintToken(server, ["services:read", "services:write"], "alice");
    const services = Array.from({ length: 40 }, (_, k) => registration({ id: `snap-${k}`, tags: ["snap"] }));
    const answer = await server.request("/api/services/bulk", { method: "POST", json: { services }, token });
    expect(answer.status).toBe(200);
  });
  afterAll(async () => server?.dispose());

  it(`gives each of ${SUBSCRIPTIONS} subscriptions sent together its snapshot, and no error`, async () => {
    const stream = await openRegistrySocket(server, token);
    for (let k = 0; k < SUBSCRIPTIONS; k++) stream.send({ type: "subscribe", id: `s${k}`, filter: { tag: ["snap"] } });
    await eventually(async () => stream.messages.filter((m) => m.type === "snapshot" || m.type === "error").length >= SUBSCRIPTIONS, 30_000);
    expect(stream.messages.filter((m) => m.type === "error")).toEqual([]);
    const snapshots = stream.messages.filter((m) => m.type === "snapshot");
    expect(new Set(snapshots.map((m) => (m.type === "snapshot" ? m.subscription : undefined))).size).toBe(SUBSCRIPTIONS);
    expect(snapshots.every((m) => m.type === "snapshot" && m.services.length === 40)).toBe(true);
    stream.close();
  }, 60_000);
});
