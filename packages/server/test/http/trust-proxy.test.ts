// `server.trustProxy` (issue 14, behind a load balancer): with the proxy's address trusted, the per-address limits count the client named by
// X-Forwarded-For, so clients behind one proxy do not share one budget; without it, that header is ignored, so a
// client cannot dodge a per-address limit by writing a different address into it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const GLOBAL = 2;

async function anonymous(server: TestServer, forwardedFor: string): Promise<number> {
  const response = await server.request("/openapi.json", { token: null, headers: { "x-forwarded-for": forwardedFor } });
  await response.arrayBuffer();
  return response.status;
}

describe.each([
  { trustProxy: ["loopback"], separate: true },
  { trustProxy: false, separate: false },
])("per-address limits with trustProxy: $trustProxy", ({ trustProxy, separate }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { server: { trustProxy }, rateLimit: { global: { max: GLOBAL, windowSeconds: 60 } } } });
  });
  afterAll(async () => server.dispose());

  it(separate ? "counts each forwarded client on its own" : "ignores X-Forwarded-For and counts the connecting address", async () => {
    for (let i = 0; i < GLOBAL; i++) expect(await anonymous(server, "198.51.100.1")).toBe(200);
    expect(await anonymous(server, "198.51.100.1")).toBe(429);
    expect(await anonymous(server, "198.51.100.2")).toBe(separate ? 200 : 429);
  });
});
