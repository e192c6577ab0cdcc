/**
 * `bus.kind: nats` end to end: two nodes configured with the same real nats-server (started by the test; skipped
 * with a message locally when missing, a failure under CI=true), an event published on one node's bus reaches an
 * SSE subscriber of the other, and the node's status of its bus says NATS.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findNatsServer, startNats, type NatsServer } from "../helpers/nats-server.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

let nats: NatsServer | null = null;
let first: TestServer;
let second: TestServer;

describe.runIf(findNatsServer() !== null || process.env.CI === "true")("two nodes on one NATS server", () => {
  beforeAll(async () => {
    nats = await startNats();
    const config = { bus: { kind: "nats" as const, nats: { url: nats!.url, subject: `kai-test.${randomUUID().slice(0, 8)}` } } };
    [first, second] = await Promise.all([startTestServer({ config }), startTestServer({ config })]);
  }, 60_000);
  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await nats?.stop();
  });

  it("an event published on one node reaches the other's SSE subscribers", async () => {
    expect(first.mesh.bus.kind).toBe("nats");
    const response = await second.request("/api/events?type=SYSTEM_STATUS");
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const id = randomUUID();
    await first.mesh.bus.publish({ id, type: "SYSTEM_STATUS", payload: { from: "first" }, timestamp: new Date().toISOString() });
    let text = "";
    while (!text.includes(id)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"from":"first"');
    await reader.cancel();
  });
});
