// The rate-limit tiers of issue 14 on a real server: `global` counts anonymous requests per client address (and
// answers 429 with Retry-After and the RateLimit-* headers past it), leaves health probes, routes with their own
// api bucket and authenticated requests alone (those count per token in the api buckets, same headers); `auth` counts the public
// sign-in routes per address; and two instances on one PostgreSQL count the global tier once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { ErrorBodySchema, klp } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { startInstances, type Instances } from "../cluster/support/instances.js";
import { installRateLimit } from "../../src/http/rate-limit.js";
import { installErrorHandling } from "../../src/http/error-handler.js";
import { agentSignInRoutes } from "../../src/http/routes/agent-sign-in.js";
import { AgentSignInService } from "../../src/auth/agents/agent-sign-in.js";
import { ConfigSchema } from "../../src/config/config-schema.js";
import { MemoryStore } from "../../src/storage/memory/memory-store.js";

const GLOBAL = 4;
const ANONYMOUS = "/openapi.json";

function expectHeaders(response: { headers: Headers }, limit: number, remaining: number): void {
  expect(response.headers.get("ratelimit-limit")).toBe(String(limit));
  expect(response.headers.get("ratelimit-remaining")).toBe(String(remaining));
  const reset = Number(response.headers.get("ratelimit-reset"));
  expect(reset).toBeGreaterThanOrEqual(0);
  expect(reset).toBeLessThanOrEqual(60);
}

async function expectRateLimited(response: Response): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(429);
  expect(ErrorBodySchema.parse(JSON.parse(text)).error.code).toBe("rate_limited");
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(Number(response.headers.get("retry-after"))).toBeLessThanOrEqual(60);
  expect(response.headers.get("ratelimit-remaining")).toBe("0");
}

describe("global tier on one server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { rateLimit: { global: { max: GLOBAL, windowSeconds: 60 }, read: { max: 50, windowSeconds: 60 } } } });
  });
  afterAll(async () => server.dispose());

  it("counts anonymous requests per address and answers 429 with Retry-After past the limit", async () => {
    for (let i = 0; i < GLOBAL; i++) {
      const response = await server.request(ANONYMOUS, { token: null });
      expect(response.status, `anonymous request ${i + 1}`).toBe(200);
      expectHeaders(response, GLOBAL, GLOBAL - i - 1);
    }
    await expectRateLimited(await server.request(ANONYMOUS, { token: null }));
    // Every anonymous route of the address shares the tier.
    await expectRateLimited(await server.request("/", { token: null, redirect: "manual" }));
  });

  it("never limits health probes; KLP's public reads keep their own per-address read bucket", async () => {
    for (let i = 0; i < GLOBAL + 2; i++) {
      expect((await server.request("/healthz", { token: null })).status).toBe(200);
      expect((await server.request("/readyz", { token: null })).status).toBe(200);
    }
    const klpRead = await server.request("/.well-known/klp.json", { token: null });
    expect(klpRead.status).toBe(200);
    expectHeaders(klpRead, 50, 49);
  });

  it("does not count authenticated requests from the same address: their token's api bucket does, with the same headers", async () => {
    const first = await server.request("/api/services");
    expect(first.status).toBe(200);
    expectHeaders(first, 50, 49);
    for (let i = 0; i < GLOBAL; i++) expect((await server.request("/api/status")).status).toBe(200);
  });
});

/** A sign-in scope as SPINE builds it, reduced to the challenge route: the real plugin, hooks, route and service. */
async function signInApp(max: number): Promise<FastifyInstance> {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  const settings = ConfigSchema.parse({ rateLimit: { auth: { max, windowSeconds: 60 } } }).rateLimit;
  await installRateLimit(app, () => settings);
  const agents = new AgentSignInService({ store: new MemoryStore().identityStore(), nodeDid: () => klp.generateKeyPair().did });
  await app.register(agentSignInRoutes(agents));
  await app.ready();
  return app;
}

describe("auth tier", () => {
  it("limits the public sign-in routes per client address", async () => {
    const app = await signInApp(3);
    try {
      const challenge = (remoteAddress: string) => app.inject({ method: "POST", url: "/api/auth/challenge", payload: { did: klp.generateKeyPair().did }, remoteAddress });
      for (let i = 0; i < 3; i++) {
        const response = await challenge("192.0.2.10");
        expect(response.statusCode, response.body).toBe(200);
        expect(response.headers["ratelimit-limit"]).toBe("3");
        expect(response.headers["ratelimit-remaining"]).toBe(String(2 - i));
      }
      const refused = await challenge("192.0.2.10");
      expect(refused.statusCode).toBe(429);
      expect(ErrorBodySchema.parse(refused.json()).error.code).toBe("rate_limited");
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      // Another address has its own count.
      expect((await challenge("192.0.2.11")).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

const postgres: PostgresServer | null = await startPostgres();

describe.skipIf(!postgres)("global tier across two instances on one PostgreSQL", () => {
  let instances: Instances | undefined;
  beforeAll(async () => {
    instances = await startInstances(postgres!, { database: "tiers", config: { rateLimit: { global: { max: GLOBAL, windowSeconds: 60 } } } });
  }, 60_000);
  afterAll(async () => {
    await instances?.dispose();
    await postgres?.stop();
  });

  it("admits the limit once for the node, not once per instance", async () => {
    const [a, b] = instances!.servers as [TestServer, TestServer];
    const statuses = await Promise.all(Array.from({ length: 3 * GLOBAL }, (_, i) => (i % 2 ? a : b).request(ANONYMOUS, { token: null }).then((r) => r.status)));
    const counterLines = [a, b].flatMap((server) => server.logs.filter((line) => line.includes("rate counters")));
    expect(statuses.filter((status) => status === 200), counterLines.join("\n")).toHaveLength(GLOBAL);
    expect(statuses.filter((status) => status === 429)).toHaveLength(2 * GLOBAL);
  });
});
