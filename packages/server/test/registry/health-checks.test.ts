// Active health checks against a real local HTTP service: debounced (one bad reply does not flap the
// status), consecutive failures mark it offline with the reason, successes bring it back, and while
// the check fails neither heartbeats nor re-registrations revive it; a service in maintenance stays there when
// re-registered.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceRecord } from "@kai/protocol";
import { eventually, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let upstream: Server;
let upstreamUrl: string;
let mode: "ok" | "fail" | "slow-once" = "ok";
let probes = 0;

beforeAll(async () => {
  upstream = createServer((request, response) => {
    probes++;
    if (mode === "slow-once") {
      mode = "ok";
      setTimeout(() => response.end("late"), 800);
      return;
    }
    response.statusCode = mode === "ok" ? 200 : 503;
    response.end(mode);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
});
afterAll(async () => {
  await server.dispose();
  await new Promise((resolve) => upstream.close(resolve));
});

const record = async (id: string) => (await (await server.request(`/api/services/${id}`)).json()) as ServiceRecord;

it("debounces, marks offline after consecutive failures, and recovers after consecutive successes", async () => {
  await server.request("/api/services/register", {
    method: "POST",
    json: registration({
      id: "hc-1",
      url: upstreamUrl,
      ttl: 60,
      healthCheck: { path: "/health", interval: 1, timeout: 0.5, failuresBeforeOffline: 2, successesBeforeActive: 2 },
    }),
  });
  // One slow reply (a timeout) is a single failure: the status must not change.
  await eventually(async () => probes >= 1, 5000);
  mode = "slow-once";
  const probesBefore = probes;
  await eventually(async () => probes >= probesBefore + 3, 6000);
  expect((await record("hc-1")).status).toBe("active");

  mode = "fail";
  const offline = await eventually(async () => {
    const current = await record("hc-1");
    return current.status === "offline" ? current : null;
  }, 6000);
  expect(offline.statusNote).toMatch(/health check failed 2 times: HTTP 503/);

  // Heartbeats do not revive a service whose health check is failing.
  const beat = await server.request("/api/services/hc-1/heartbeat", { method: "POST" });
  expect(((await beat.json()) as { status: string }).status).toBe("offline");
  // Nor does a re-registration (it counts as a heartbeat): `kai services apply` of an unchanged manifest, one by one
  // or in bulk, is an unchanged record, not an "updated" one set back to active.
  const definition = registration({
    id: "hc-1",
    url: upstreamUrl,
    ttl: 60,
    healthCheck: { path: "/health", interval: 1, timeout: 0.5, failuresBeforeOffline: 2, successesBeforeActive: 2 },
  });
  const again = await server.request("/api/services/register", { method: "POST", json: definition });
  expect(again.status).toBe(200);
  expect(((await again.json()) as ServiceRecord).status).toBe("offline");
  const bulk = await server.request("/api/services/bulk", { method: "POST", json: { services: [definition] } });
  expect(((await bulk.json()) as { results: { action: string }[] }).results[0]!.action).toBe("unchanged");
  expect((await record("hc-1")).status).toBe("offline");

  mode = "ok";
  await eventually(async () => (await record("hc-1")).status === "active", 6000);
}, 30_000);

it("keeps a service in maintenance when it registers again (a patch takes it out)", async () => {
  const definition = registration({ id: "hc-maint", ttl: 60 });
  await server.request("/api/services/register", { method: "POST", json: definition });
  const patched = await server.request("/api/services/hc-maint", { method: "PATCH", json: { status: "maintenance" } });
  expect(((await patched.json()) as ServiceRecord).status).toBe("maintenance");
  const again = await server.request("/api/services/register", { method: "POST", json: definition });
  expect(((await again.json()) as ServiceRecord).status).toBe("maintenance");
  const bulk = await server.request("/api/services/bulk", { method: "POST", json: { services: [{ ...definition, description: "changed" }] } });
  expect(((await bulk.json()) as { results: { action: string }[] }).results[0]!.action).toBe("updated");
  const after = await record("hc-maint");
  expect(after.status).toBe("maintenance");
  expect(after.description).toBe("changed");
  await server.request("/api/services/hc-maint", { method: "PATCH", json: { status: "active" } });
  expect((await record("hc-maint")).status).toBe("active");
});
