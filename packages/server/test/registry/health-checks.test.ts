// Active health checks against a real local HTTP service: debounced (one bad reply does not flap the
// status), consecutive failures mark it offline with the reason, successes bring it back, and while
// the check fails heartbeats do not revive it.
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

  mode = "ok";
  await eventually(async () => (await record("hc-1")).status === "active", 6000);
}, 30_000);
