// Per-token rate limits with tiny buckets: the request after the limit is answered 429 `rate_limited` with a
// Retry-After in whole seconds; other tokens are not affected; reads, writes and heartbeats draw from separate
// buckets, so that a chatty reader cannot starve its own heartbeats.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema } from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

const LIMIT = { read: 5, write: 6, heartbeat: 4 } as const;

let server: TestServer;
let alice: string;
let bob: string;

async function expectRateLimited(response: Response, what: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${what}: ${text}`).toBe(429);
  expect(ErrorBodySchema.parse(JSON.parse(text)).error.code).toBe("rate_limited");
  const retryAfter = response.headers.get("retry-after");
  expect(retryAfter, what).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  expect(response.headers.get("x-request-id")).toBeTruthy();
}

beforeAll(async () => {
  server = await startTestServer({
    config: {
      rateLimit: {
        enabled: true,
        read: { max: LIMIT.read, windowSeconds: 60 },
        write: { max: LIMIT.write, windowSeconds: 60 },
        heartbeat: { max: LIMIT.heartbeat, windowSeconds: 60 },
      },
    },
  });
  // Minting draws from the admin token's write bucket (2 of 6), not from alice's or bob's.
  alice = await mintToken(server, ["services:read", "services:write", "services:heartbeat"], "alice");
  bob = await mintToken(server, ["services:read"], "bob");
});
afterAll(async () => server.dispose());

describe("rate limits", () => {
  it("answers the read after the limit with 429 and Retry-After, per token, and shares the bucket across read routes", async () => {
    for (let i = 0; i < LIMIT.read; i++) {
      const response = await server.request("/api/services", { token: alice });
      expect(response.status, `read ${i + 1}`).toBe(200);
    }
    await expectRateLimited(await server.request("/api/services", { token: alice }), "read 6");
    // Another read route draws from the same bucket.
    await expectRateLimited(await server.request("/api/services/anything", { token: alice }), "GET one after the limit");
    await expectRateLimited(await server.request("/api/status", { token: alice }), "status after the limit");
    // Another token from the same address still passes: the key is the token, not the IP.
    expect((await server.request("/api/services", { token: bob })).status).toBe(200);
  });

  it("keeps writes and heartbeats in their own buckets", async () => {
    // alice's reads are exhausted (previous test); writes and heartbeats must still pass.
    const registered = await server.request("/api/services/register", { method: "POST", json: registration({ id: "rl-svc", ttl: 60 }), token: alice });
    expect(registered.status).toBe(201);
    for (let i = 0; i < LIMIT.heartbeat; i++) {
      const beat = await server.request("/api/services/rl-svc/heartbeat", { method: "POST", token: alice });
      expect(beat.status, `heartbeat ${i + 1}`).toBe(200);
    }
    await expectRateLimited(await server.request("/api/services/rl-svc/heartbeat", { method: "POST", token: alice }), "heartbeat after the limit");
    // Heartbeats exhausted: writes still pass until their own limit (1 used by the registration).
    for (let i = 1; i < LIMIT.write; i++) {
      const patch = await server.request("/api/services/rl-svc", { method: "PATCH", json: { description: `write ${i}` }, token: alice });
      expect(patch.status, `write ${i + 1}`).toBe(200);
    }
    await expectRateLimited(
      await server.request("/api/services/rl-svc", { method: "PATCH", json: { description: "one too many" }, token: alice }),
      "write after the limit",
    );
    await expectRateLimited(await server.request("/api/services/rl-svc", { method: "DELETE", token: alice }), "delete after the write limit");
  });

  it("limits WebSocket upgrades through the read bucket too", async () => {
    // bob has used 1 read; 4 more reach the limit, then the upgrade must be refused with 429.
    for (let i = 1; i < LIMIT.read; i++) expect((await server.request("/api/status", { token: bob })).status).toBe(200);
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws/registry`, { headers: { authorization: `Bearer ${bob}` } });
      socket.once("open", () => {
        socket.close();
        resolve(101);
      });
      socket.once("unexpected-response", (_request, response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      socket.once("error", (error) => {
        if (!String(error.message).includes("Unexpected server response")) reject(error);
      });
    });
    expect(status).toBe(429);
  });

  it("does not count requests that fail authentication against anyone's bucket", async () => {
    for (let i = 0; i < LIMIT.read + 2; i++) expect((await server.request("/api/services", { token: "garbage" })).status).toBe(401);
    const carol = await mintToken(server, ["services:read"], "carol");
    expect((await server.request("/api/services", { token: carol })).status).toBe(200);
  });
});
