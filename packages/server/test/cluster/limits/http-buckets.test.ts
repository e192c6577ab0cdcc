// The per-token HTTP buckets of two instances sharing one PostgreSQL (and, in the second suite, one Redis):
// two real Fastify apps with the real rate-limit plugin and the real error handler, one token, limit N →
// exactly N answers 2xx in total, then 429 `rate_limited` with Retry-After on both; when the database cannot
// be reached, the bucket fails closed with 503 `storage_unavailable`.
import { describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import { ErrorBodySchema } from "@kai/protocol";
import { createRateLimits, type RateLimits } from "../../../src/cluster/limits/index.js";
import { installRateLimit } from "../../../src/http/rate-limit.js";
import { installErrorHandling } from "../../../src/http/error-handler.js";
import { ConfigSchema } from "../../../src/config/config-schema.js";
import { startInstances, type InstanceGroup } from "./instances.js";
import { useRealServers } from "../support/real-servers.js";
import { testPool } from "../../helpers/postgres-server.js";

const LIMIT = 7;

const servers = useRealServers();

/** One instance's HTTP app: a token (from a test header) as the principal, one route in the `read` bucket. */
async function appOn(limits: RateLimits): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandling(app);
  app.addHook("onRequest", async (request) => {
    const tokenId = request.headers["x-test-token"];
    if (typeof tokenId === "string") request.principal = { tokenId, owner: tokenId, scopes: ["services:read"], expiresAt: Date.now() + 60_000 };
  });
  const config = ConfigSchema.parse({ rateLimit: { read: { max: LIMIT, windowSeconds: 60 } } }).rateLimit;
  await installRateLimit(app, () => config, limits);
  app.get("/things", { config: { bucket: "read" } }, async () => ({ ok: true }));
  app.get("/other-things", { config: { bucket: "read" } }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

async function twoAppsOneToken(group: InstanceGroup): Promise<void> {
  const apps = await Promise.all(group.instances.map((instance) => appOn(instance.limits)));
  try {
    // 3 × LIMIT requests at once, alternating between the two instances and two routes of the bucket.
    const responses = await Promise.all(
      Array.from({ length: 3 * LIMIT }, (_, i) => apps[i % 2]!.inject({ method: "GET", url: i % 3 ? "/things" : "/other-things", headers: { "x-test-token": "tok-shared" } })),
    );
    const ok = responses.filter((response) => response.statusCode === 200);
    const limited = responses.filter((response) => response.statusCode === 429);
    expect(ok).toHaveLength(LIMIT);
    expect(limited).toHaveLength(2 * LIMIT);
    for (const response of limited) {
      expect(ErrorBodySchema.parse(response.json()).error.code).toBe("rate_limited");
      expect(Number(response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers["retry-after"])).toBeLessThanOrEqual(60);
    }
    // Both instances refused some: the bucket is one bucket, not one per instance.
    expect(new Set(limited.map((response) => responses.indexOf(response) % 2))).toEqual(new Set([0, 1]));
    // Another token has its own bucket, on either instance.
    expect((await apps[1]!.inject({ method: "GET", url: "/things", headers: { "x-test-token": "tok-other" } })).statusCode).toBe(200);
  } finally {
    await Promise.all(apps.map((app) => app.close()));
  }
}

describe("per-token buckets across two instances", () => {
  it("on PostgreSQL: exactly N requests pass in total, then 429 with Retry-After on both", async (context) => {
    if (!servers.postgres) return context.skip();
    const group = await startInstances(2, await servers.postgres.createDatabase("http"));
    try {
      await twoAppsOneToken(group);
    } finally {
      await group.close();
    }
  });

  it("on Redis with PostgreSQL behind it: exactly N requests pass in total", async (context) => {
    if (!servers.postgres || !servers.redis) return context.skip();
    await servers.redis.flush();
    const group = await startInstances(2, await servers.postgres.createDatabase("http"), servers.redis.url());
    try {
      await twoAppsOneToken(group);
    } finally {
      await group.close();
    }
  });

  it("answers 503 storage_unavailable (fail closed) when the bucket's database cannot be reached", async () => {
    const pool = testPool({ connectionString: "postgres://kai@127.0.0.1:9/none", max: 1, connectionTimeoutMillis: 500 });
    const app = await appOn(createRateLimits({ mode: "postgres", pool }, { sweepIntervalMs: 0 }));
    try {
      const response = await app.inject({ method: "GET", url: "/things", headers: { "x-test-token": "tok-shared" } });
      expect(response.statusCode).toBe(503);
      expect(ErrorBodySchema.parse(response.json()).error.code).toBe("storage_unavailable");
      expect(response.headers["retry-after"]).toBe("1");
      expect(response.body).not.toContain("127.0.0.1");
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it("keeps counting in this process when no shared counters are given (one instance)", async () => {
    const app = await appOn(createRateLimits({ mode: "memory" }));
    try {
      for (let i = 0; i < LIMIT; i++) expect((await app.inject({ method: "GET", url: "/things", headers: { "x-test-token": "t" } })).statusCode).toBe(200);
      expect((await app.inject({ method: "GET", url: "/other-things", headers: { "x-test-token": "t" } })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});
