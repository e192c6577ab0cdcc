// Liveness: missed heartbeats turn a service offline within a second or two, the grace period then
// deregisters it, a restart gives every lease a fresh ttl, and the mass-expiry guard holds back a wave.
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { eventually, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

const servers: TestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.dispose();
});

async function start(config: Record<string, unknown> = {}, keepDataDir?: string) {
  const server = await startTestServer({ config: { registry: { sweepIntervalMs: 100, ...config } }, ...(keepDataDir ? { keepDataDir } : {}) });
  servers.push(server);
  return server;
}

const statusOf = async (server: TestServer, id: string) => {
  const response = await server.request(`/api/services/${id}`);
  return response.status === 404 ? "gone" : ((await response.json()) as ServiceRecord).status;
};

describe("leases", () => {
  it("marks a service with ttl 1 s offline within two seconds of its last heartbeat, and a heartbeat revives it", async () => {
    const server = await start();
    await server.request("/api/services/register", { method: "POST", json: registration({ id: "ttl-1", ttl: 1 }) });
    const lastBeat = Date.now();
    await eventually(async () => (await statusOf(server, "ttl-1")) === "offline", 4000, 25);
    expect(Date.now() - lastBeat).toBeLessThan(2000);
    const record = (await (await server.request("/api/services/ttl-1")).json()) as ServiceRecord;
    expect(record.statusNote).toMatch(/no heartbeat/);
    const beat = await server.request("/api/services/ttl-1/heartbeat", { method: "POST" });
    expect(((await beat.json()) as { status: string }).status).toBe("active");
  });

  it("keeps a heartbeating service active", async () => {
    const server = await start();
    await server.request("/api/services/register", { method: "POST", json: registration({ id: "ttl-2", ttl: 1 }) });
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.request("/api/services/ttl-2/heartbeat", { method: "POST" });
    }
    expect(await statusOf(server, "ttl-2")).toBe("active");
  });

  it("deregisters a service that stayed offline past the grace period", async () => {
    const server = await start({ offlineGraceSeconds: 0.5 });
    await server.request("/api/services/register", { method: "POST", json: registration({ id: "ttl-3", ttl: 1 }) });
    await eventually(async () => (await statusOf(server, "ttl-3")) === "gone", 5000);
  });

  it("gives every lease a fresh ttl after a restart instead of expiring them all at once", async () => {
    const first = await start();
    await first.request("/api/services/register", { method: "POST", json: registration({ id: "ttl-4", ttl: 2 }) });
    const dataDir = first.dataDir;
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    // Stay down longer than the ttl: the service could not have reached us.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const second = await start({}, dataDir);
    expect(await statusOf(second, "ttl-4")).toBe("active");
    await eventually(async () => (await statusOf(second, "ttl-4")) === "offline", 5000);
  });

  it("holds back a wave of expiries with the mass-expiry guard and reports it", async () => {
    // maxHold long enough that, on a loaded machine, the checks below still find the guard holding.
    const server = await start({ massExpiry: { threshold: 0.15, minCount: 2, windowSeconds: 60, maxHoldSeconds: 8 } });
    // All 20 at once, with a ttl long enough that none expires before the last is registered (even on a busy machine).
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server.request("/api/services/register", { method: "POST", json: registration({ id: `wave-${i}`, ttl: 3 }) }),
      ),
    );
    const list = async () => {
      const response = await server.request("/api/services?tag=test&limit=100");
      return ((await response.json()) as { services: ServiceRecord[] }).services.filter((s) => s.id.startsWith("wave-"));
    };
    const guardEngaged = async () =>
      ((await (await server.request("/api/status")).json()) as { registry: { expiryGuard: { engaged: boolean } } }).registry.expiryGuard.engaged;
    await eventually(guardEngaged, 8000);
    // The guard engages as it counts the expiries; their status writes may land a moment later.
    const offline = await eventually(async () => {
      const count = (await list()).filter((s) => s.status === "offline").length;
      return count >= 3 ? count : null;
    }, 3000);
    expect(offline).toBe(3); // max(minCount 2, 15% of 20 = 3)
    // Once every lease is past its deadline, the guard holds back all the others, and says so.
    const heldBack = async () => {
      const status = (await (await server.request("/api/status")).json()) as { registry: { expiryGuard: { engaged: boolean; heldBack: number } } };
      return status.registry.expiryGuard.engaged && status.registry.expiryGuard.heldBack === 17;
    };
    await eventually(heldBack, 6000);
    expect((await list()).filter((s) => s.status === "offline").length).toBe(3);
    // The guard never holds forever: after maxHold the rest expire.
    await eventually(async () => (await list()).every((s) => s.status === "offline"), 12_000);
  }, 40_000);
});
