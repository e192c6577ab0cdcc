// Two `kai serve` processes on one real PostgreSQL act as one node; `kill -9` of the one that runs the singleton
// jobs hands them to the other within seconds: it leads with a higher fencing epoch, and a lease that then runs
// out (its heartbeats had gone to both instances) is expired by the survivor, once.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterResponse } from "@kai/protocol";
import { spawnServer, type SpawnedServer } from "./support/spawn-server.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";

const pg: PostgresServer | null = await startPostgres();
const running: SpawnedServer[] = [];
let root = "";

async function eventually<T>(probe: () => Promise<T | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const call = (server: SpawnedServer, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json", ...(init.headers ?? {}) } });

describe.skipIf(!pg)("kill -9 of the leading instance", () => {
  let a: SpawnedServer;
  let b: SpawnedServer;

  beforeAll(async () => {
    const url = await pg!.createDatabase("failover");
    root = mkdtempSync(join(tmpdir(), "kai-failover-"));
    const keyDir = join(root, "keys");
    const configFile = join(root, "kai.yaml");
    writeFileSync(
      configFile,
      [
        "storage:",
        "  kind: postgres",
        "  postgres:",
        `    url: ${url}`,
        "    poolSize: 4",
        "vault:",
        `  keyDir: ${keyDir}`,
        "  pbkdf2Iterations: 10000",
        "registry:",
        "  sweepIntervalMs: 100",
        "  heartbeatFlushMs: 200",
        "rateLimit:",
        "  enabled: false",
        "logging:",
        "  stdout: false",
        "",
      ].join("\n"),
    );
    const env = { KAI_VAULT_PASSPHRASE: "failover passphrase" };
    a = await spawnServer(join(root, "a"), configFile, "cli", { ...env, KAI_INSTANCE_NAME: "a" });
    running.push(a);
    b = await spawnServer(join(root, "b"), configFile, "cli", { ...env, KAI_INSTANCE_NAME: "b" });
    running.push(b);
  }, 60_000);

  afterAll(async () => {
    for (const server of running) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
    await Promise.all(running.map((server) => server.exited));
    if (root) rmSync(root, { recursive: true, force: true });
    await pg?.stop();
  });

  it("the survivor takes the singleton jobs within seconds and expires a lease once", async () => {
    const view = await eventually(async () => {
      const body = (await (await call(a, "/api/cluster")).json()) as ClusterResponse;
      return body.instances.length === 2 && body.leader ? body : null;
    });
    const leaderName = view.leader!.name;
    const [leader, survivor] = leaderName === "a" ? [a, b] : [b, a];

    // A leased service, its heartbeats going to both instances.
    expect((await call(survivor, "/api/services/register", { method: "POST", body: JSON.stringify({ id: "leased", name: "Leased", type: "service", ttl: 3 }) })).status).toBe(201);
    for (let i = 0; i < 4; i++) {
      expect((await call(i % 2 ? leader : survivor, "/api/services/leased/heartbeat", { method: "POST", body: "{}" })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const frames: Array<{ type: string; event?: string; service?: { id: string; status: string } }> = [];
    const socket = new WebSocket(survivor.url.replace("http", "ws") + "/ws/registry", { headers: { authorization: `Bearer ${survivor.adminToken}` } });
    socket.on("message", (data: Buffer) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    socket.send(JSON.stringify({ type: "subscribe" }));

    const killedAt = Date.now();
    leader.child.kill("SIGKILL");
    await leader.exited;
    const after = await eventually(async () => {
      const body = (await (await call(survivor, "/api/cluster")).json()) as ClusterResponse;
      return body.leader && body.leader.name !== leaderName && body.leader.epoch > view.leader!.epoch && body.instances[0]?.jobs.includes("lease-sweeps") ? body : null;
    }, 15_000);
    const failoverMs = Date.now() - killedAt;
    // "Within a few seconds": the lock is freed when the dead process's connection closes; the survivor retries each second.
    expect(failoverMs).toBeLessThan(10_000);
    expect(after.leader!.name).toBe(survivor === a ? "a" : "b");
    // The dead instance's membership row goes stale after memberTimeoutMs: then it is no longer listed.
    await eventually(async () => {
      const body = (await (await call(survivor, "/api/cluster")).json()) as ClusterResponse;
      return body.instances.length === 1 && body.instances[0]!.name === (survivor === a ? "a" : "b");
    }, 15_000);

    // No heartbeat since: the survivor expires the lease, once.
    await eventually(async () => ((await (await call(survivor, "/api/services/leased")).json()) as { status: string }).status === "offline", 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    socket.close();
    const offline = frames.filter((f) => f.type === "event" && f.event === "status_changed" && f.service?.id === "leased" && f.service.status === "offline");
    expect(offline).toHaveLength(1);
  }, 90_000);
});
