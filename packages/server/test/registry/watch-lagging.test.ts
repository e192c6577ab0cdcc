// A subscriber that stops reading is not allowed to hold the server's memory or to miss changes
// silently: once its socket backs up it gets no more events, and when it drains it gets a fresh
// snapshot (reason "lagging") from which its view is exact again.
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import type { ServerStreamMessage, ServiceRecord } from "@kai/protocol";
import { eventually, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { watch: { maxBufferedBytes: 64 * 1024 }, rateLimit: { enabled: false } } });
});
afterAll(async () => server.dispose());

it("sends a lagging subscriber a new snapshot instead of a silent gap", async () => {
  const socket = new WebSocket(server.url.replace("http", "ws") + "/ws/registry", { headers: { authorization: `Bearer ${server.adminToken}` } });
  const messages: ServerStreamMessage[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data)) as ServerStreamMessage));
  await new Promise((resolve) => socket.once("open", resolve));
  socket.send(JSON.stringify({ type: "subscribe", filter: { tag: ["bulk"] } }));
  await eventually(async () => messages.some((m) => m.type === "snapshot"));
  socket.pause(); // stop reading: the server's send buffer for this socket fills up

  const padding = "x".repeat(48 * 1024);
  for (let i = 0; i < 120; i++) {
    const response = await server.request("/api/services/register", {
      method: "POST",
      json: registration({ id: `bulk-${String(i).padStart(3, "0")}`, tags: ["bulk"], metadata: { padding } }),
    });
    expect(response.status).toBe(201);
  }
  socket.resume();
  const lagging = await eventually(async () => messages.find((m) => m.type === "snapshot" && m.reason === "lagging"), 15_000);
  // Rebuild the view as a client would and compare with the registry's own answer.
  const view = new Map<string, ServiceRecord>();
  for (const message of messages) {
    if (message.type === "snapshot") {
      view.clear();
      for (const service of message.services) view.set(service.id, service);
    } else if (message.type === "event" && message.service) view.set(message.serviceId, message.service);
  }
  const list = (await (await server.request("/api/services?tag=bulk&limit=1000")).json()) as { services: ServiceRecord[] };
  expect([...view.keys()].sort()).toEqual(list.services.map((s) => s.id));
  expect(lagging.type === "snapshot" && lagging.services.length).toBeGreaterThan(0);
  socket.close();
}, 40_000);
