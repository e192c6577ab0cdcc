// Rate counters shared by several instances of one node, against a real PostgreSQL and a real Redis started by
// the test: N instances (each with its own pool and Redis client) admit exactly the limit in one window under
// concurrent hits; a Redis outage moves the counting to PostgreSQL (still exact) and Redis is used again once
// it is back; when no shared store answers, a counter either refuses or counts this instance's share.
import { describe, expect, it } from "vitest";
import { createRateLimits, LimitStoreUnavailable } from "../../../src/cluster/limits/index.js";
import { isRedisReady, waitForRedis } from "../../../src/cluster/redis/redis-client.js";
import { hitTogether, startInstances } from "./instances.js";
import { useRealServers } from "../support/real-servers.js";
import { testPool } from "../../helpers/postgres-server.js";

const LIMIT = 50;
const admitted = (totals: { total: number }[]) => totals.filter((count) => count.total <= LIMIT).length;

const servers = useRealServers();

describe("on PostgreSQL", () => {
  it("3 instances × 100 concurrent hits on a limit of 50 admit exactly 50, each hit seeing a distinct total", async (context) => {
    if (!servers.postgres) return context.skip();
    const group = await startInstances(3, await servers.postgres.createDatabase("limits"));
    try {
      const totals = await hitTogether(group, "http", "token-a", 100);
      expect(admitted(totals)).toBe(LIMIT);
      expect(new Set(totals.map((count) => count.total)).size).toBe(300);
      expect(totals.every((count) => count.source === "postgres")).toBe(true);
      // The window is the same for everyone: it ends within the minute.
      expect(Math.max(...totals.map((count) => count.resetMs))).toBeLessThanOrEqual(60_000);
      // Another key has its own window.
      expect((await group.instances[1]!.limits.counter("http", 60_000).add("token-b")).total).toBe(1);
    } finally {
      await group.close();
    }
  });

  it("reads without adding, takes back a refund, and starts a new window once the old one ended", async (context) => {
    if (!servers.postgres) return context.skip();
    const group = await startInstances(2, await servers.postgres.createDatabase("limits"));
    try {
      const [a, b] = group.instances.map((instance) => instance.limits.counter("klp", 1000));
      await a!.add("did:x", 3);
      expect((await b!.read("did:x")).total).toBe(3);
      await b!.refund("did:x", 2);
      expect((await a!.read("did:x")).total).toBe(1);
      expect((await a!.read("did:nobody")).total).toBe(0);
      // A 1 s window: after it, the next hit opens a new one (the database's clock decides).
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await b!.add("did:x")).total).toBe(1);
    } finally {
      await group.close();
    }
  });

  it("when the database cannot be reached: `fail` counters refuse, `local` counters count this instance's share", async () => {
    // A pool pointing at a port where nothing listens: every query fails to connect.
    const pool = testPool({ connectionString: "postgres://kai@127.0.0.1:9/none", max: 1, connectionTimeoutMillis: 500 });
    try {
      const limits = createRateLimits({ mode: "postgres", pool }, { instances: () => 4, sweepIntervalMs: 0 });
      await expect(limits.counter("http", 60_000).add("t")).rejects.toBeInstanceOf(LimitStoreUnavailable);
      const local = limits.counter("svc_rpm", 60_000, { whenDown: "local" });
      const first = await local.add("svc");
      // One local hit out of four instances' share: it counts as four.
      expect(first).toMatchObject({ total: 4, source: "local" });
      expect((await local.add("svc")).total).toBe(8);
    } finally {
      await pool.end();
    }
  });
});

describe("on Redis, with PostgreSQL as the insurance", () => {
  it("3 instances × 100 concurrent hits on a limit of 50 admit exactly 50, counted in Redis", async (context) => {
    if (!servers.postgres || !servers.redis) return context.skip();
    await servers.redis.flush();
    const group = await startInstances(3, await servers.postgres.createDatabase("limits"), servers.redis.url());
    try {
      const totals = await hitTogether(group, "http", "token-a", 100);
      expect(admitted(totals)).toBe(LIMIT);
      expect(totals.every((count) => count.source === "redis")).toBe(true);
      expect(group.instances[0]!.limits.state()).toEqual({ mode: "redis", degraded: false });
    } finally {
      await group.close();
    }
  });

  it("Redis killed mid-run: hits are still limited, exactly, in PostgreSQL; Redis back: used again", async (context) => {
    if (!servers.postgres || !servers.redis) return context.skip();
    await servers.redis.flush();
    const group = await startInstances(3, await servers.postgres.createDatabase("limits"), servers.redis.url());
    try {
      const before = await hitTogether(group, "http", "before", 10);
      expect(before.every((count) => count.source === "redis")).toBe(true);

      await servers.redis.kill();
      const during = await hitTogether(group, "http", "during", 100);
      expect(admitted(during)).toBe(LIMIT);
      expect(during.every((count) => count.source === "postgres")).toBe(true);
      expect(group.instances.every((instance) => instance.limits.state().degraded)).toBe(true);

      await servers.redis.start();
      for (const instance of group.instances) expect(await waitForRedis(instance.redis!, 10_000)).toBe(true);
      expect(group.instances.every((instance) => isRedisReady(instance.redis!))).toBe(true);
      const after = await hitTogether(group, "http", "after", 100);
      expect(admitted(after)).toBe(LIMIT);
      expect(after.every((count) => count.source === "redis")).toBe(true);
      expect(group.instances.every((instance) => !instance.limits.state().degraded)).toBe(true);
      // The window opened in PostgreSQL during the outage was not touched after it.
      const pool = group.instances[0]!.pool;
      const rows = await pool.query<{ key: string; total: string }>("select key, total from rate_limit_windows order by key");
      expect(rows.rows).toEqual([{ key: "during", total: "300" }]);
    } finally {
      await group.close();
    }
  });
});
