// What a listing shows says whether a service is healthy: `health` is the health checker's verdict, apart
// from `status`. A service whose check fails reads `failing` in the listing, in GET and on the watch stream
// (snapshot and the event of its status change); one whose check passes reads `passing`; one without a
// check reads `unknown`. Before, records carried no verdict: `status` alone (still `active` while the first
// failures are debounced, `maintenance` whatever the check says) could not tell a reader the check was failing.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import type { ListServicesResponse, ServerStreamMessage, ServiceRecord } from "@kai/protocol";
import { eventually, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let upstream: Server;
let upstreamUrl: string;
let failing = true;

beforeAll(async () => {
  // `/ok` always answers 200; `/health` answers 503 while `failing`.
  upstream = createServer((request, response) => {
    response.statusCode = request.url === "/ok" || !failing ? 200 : 503;
    response.end();
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
});
afterAll(async () => {
  await server.dispose();
  await new Promise((resolve) => upstream.close(resolve));
});

const check = (path: string) => ({ path, interval: 1, timeout: 0.5, failuresBeforeOffline: 2, successesBeforeActive: 1 });
const listed = async (id: string) => {
  const page = (await (await server.request(`/api/services?tag=health-field`)).json()) as ListServicesResponse;
  return page.services.find((service) => service.id === id);
};

it("lists a service whose health check fails as failing, a passing one as passing, one without a check as unknown", async () => {
  for (const [id, healthCheck] of [["hf-bad", check("/health")], ["hf-good", check("/ok")], ["hf-none", undefined]] as const) {
    const response = await server.request("/api/services/register", {
      method: "POST",
      json: registration({ id, url: upstreamUrl, ttl: 60, tags: ["health-field"], ...(healthCheck ? { healthCheck } : {}) }),
    });
    expect(response.status).toBe(201);
  }
  // The verdict is set first (so no heartbeat revives the service meanwhile), then the status change is written.
  const bad = await eventually(async () => {
    const record = await listed("hf-bad");
    return record?.health === "failing" && record.status === "offline" ? record : null;
  }, 8000);
  expect(bad.status).toBe("offline");
  expect(((await (await server.request("/api/services/hf-bad")).json()) as ServiceRecord).health).toBe("failing");
  await eventually(async () => (await listed("hf-good"))?.health === "passing", 8000);
  expect((await listed("hf-good"))?.status).toBe("active");
  expect((await listed("hf-none"))?.health).toBe("unknown");

  // The watch stream shows the same verdicts, and the recovery's status change carries `passing`.
  const socket = new WebSocket(server.url.replace("http", "ws") + "/ws/registry", { headers: { authorization: `Bearer ${server.adminToken}` } });
  const messages: ServerStreamMessage[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data)) as ServerStreamMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  try {
    socket.send(JSON.stringify({ type: "subscribe", filter: { tag: ["health-field"] } }));
    const snapshot = await eventually(async () => messages.find((m) => m.type === "snapshot"));
    const health = snapshot.type === "snapshot" ? Object.fromEntries(snapshot.services.map((s) => [s.id, s.health])) : {};
    expect(health).toEqual({ "hf-bad": "failing", "hf-good": "passing", "hf-none": "unknown" });
    failing = false;
    const recovered = await eventually(async () => messages.find((m) => m.type === "event" && m.serviceId === "hf-bad" && m.service?.status === "active"), 8000);
    expect(recovered.type === "event" && recovered.service?.health).toBe("passing");
  } finally {
    socket.close();
  }
}, 30_000);
