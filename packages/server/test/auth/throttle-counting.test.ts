// The sign-in throttle over the node's real counters: free failures, then a delay that doubles up to the cap,
// per username and per client address (IPv6 by /64), cleared for the username by a success, skipped for the
// username at an address where it signed in before (an attacker elsewhere cannot lock the user out), recorded in
// the security log, and counted once for two instances on one PostgreSQL. Delays here are a minute or more, so
// "refused now" never depends on how fast the machine is.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import pino from "pino";
import { ApiError } from "../../src/errors.js";
import { CountingLoginThrottle, delaySeconds, type ThrottleSettings } from "../../src/auth/throttle/login-throttle.js";
import { createRateLimits, memoryRateLimits, type RateLimits } from "../../src/cluster/limits/index.js";
import { ConfigSchema } from "../../src/config/config-schema.js";
import { SecurityLog } from "../../src/auth/security-log.js";
import { MemoryStore } from "../../src/storage/memory/memory-store.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";

const settings = (overrides: Partial<ThrottleSettings> = {}): ThrottleSettings =>
  ConfigSchema.parse({ rateLimit: { signIn: { freeAttempts: 3, addressFreeAttempts: 6, baseDelaySeconds: 60, maxDelaySeconds: 240, windowSeconds: 3600, ...overrides } } }).rateLimit.signIn;

/** Seconds the throttle asks to wait for these keys, or 0 when the attempt may go ahead. */
async function waitOf(throttle: CountingLoginThrottle, username: string, address: string): Promise<number> {
  try {
    await throttle.check({ username, address });
    return 0;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.code).toBe("login_throttled");
    expect(apiError.status).toBe(429);
    const retryAfter = apiError.headers?.["Retry-After"];
    expect(retryAfter).toMatch(/^\d+$/);
    return Number(retryAfter);
  }
}

async function fail(throttle: CountingLoginThrottle, username: string, address: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await throttle.failed({ username, address });
}

describe("delay schedule", () => {
  it("doubles from the base delay up to the cap", () => {
    const s = { baseDelaySeconds: 2, maxDelaySeconds: 30 };
    expect([0, 1, 2, 3, 4, 5, 6, 100].map((level) => delaySeconds(level, s))).toEqual([0, 2, 4, 8, 16, 30, 30, 30]);
  });

  it("refuses a cap below the base delay", () => {
    expect(ConfigSchema.safeParse({ rateLimit: { signIn: { baseDelaySeconds: 10, maxDelaySeconds: 5 } } }).success).toBe(false);
  });
});

describe("throttle on one instance", () => {
  let limits: RateLimits;
  beforeAll(() => {
    limits = memoryRateLimits();
  });

  it("lets the free failures through, then makes the next attempt wait, also with the right password", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings() });
    await fail(throttle, "Alice", "192.0.2.1", 3);
    expect(await waitOf(throttle, "alice", "192.0.2.1")).toBe(0);
    await fail(throttle, "alice", "192.0.2.1", 1);
    // The check comes before any password is looked at: whatever the caller would present, it is refused now.
    const wait = await waitOf(throttle, "ALICE", "192.0.2.1");
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
  });

  it("doubles the delay with each further failure, up to the cap", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings() });
    await fail(throttle, "bob", "192.0.2.2", 5);
    const second = await waitOf(throttle, "bob", "192.0.2.2");
    expect(second).toBeGreaterThan(60);
    expect(second).toBeLessThanOrEqual(120);
    await fail(throttle, "bob", "192.0.2.2", 10);
    const capped = await waitOf(throttle, "bob", "192.0.2.2");
    expect(capped).toBeGreaterThan(120);
    expect(capped).toBeLessThanOrEqual(240);
  });

  it("counts an address across usernames, and leaves other addresses alone", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings() });
    for (let i = 0; i < 7; i++) await throttle.failed({ username: `spray-${i}`, address: "198.51.100.7" });
    expect(await waitOf(throttle, "someone-new", "198.51.100.7")).toBeGreaterThan(0);
    expect(await waitOf(throttle, "someone-new", "198.51.100.8")).toBe(0);
  });

  it("counts IPv6 clients by their /64", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings() });
    for (let i = 1; i <= 7; i++) await throttle.failed({ username: `v6-${i}`, address: `2001:db8:1:2::${i.toString(16)}` });
    expect(await waitOf(throttle, "v6-new", "2001:db8:1:2:ffff:ffff:ffff:ffff")).toBeGreaterThan(0);
    expect(await waitOf(throttle, "v6-new", "2001:db8:1:3::1")).toBe(0);
  });

  it("clears the username's failures on a success", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings() });
    await fail(throttle, "carol", "192.0.2.3", 2);
    await throttle.succeeded({ username: "carol", address: "192.0.2.3" });
    await fail(throttle, "carol", "192.0.2.3", 3);
    expect(await waitOf(throttle, "carol", "192.0.2.3")).toBe(0);
  });

  it("does not let guessing elsewhere lock the user out at an address where they signed in before", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings() });
    await throttle.succeeded({ username: "dave", address: "192.0.2.4" });
    // Guessing dave's password from many addresses: each stays under its own address limit.
    for (let i = 0; i < 6; i++) await throttle.failed({ username: "dave", address: `203.0.113.${i}` });
    expect(await waitOf(throttle, "dave", "203.0.113.99")).toBeGreaterThan(0);
    expect(await waitOf(throttle, "dave", "192.0.2.4")).toBe(0);
  });

  it("records sign_in_throttled when a delay starts", async () => {
    const store = new MemoryStore().identityStore();
    const throttle = new CountingLoginThrottle({ limits, settings: settings(), securityLog: new SecurityLog(store, pino({ level: "silent" })) });
    await fail(throttle, "erin", "192.0.2.5", 4);
    await expect.poll(async () => (await store.listSecurityEvents({ limit: 10, type: "sign_in_throttled" })).length).toBe(1);
    const [event] = await store.listSecurityEvents({ limit: 10, type: "sign_in_throttled" });
    expect(event).toMatchObject({ outcome: "failure", username: "erin", address: "192.0.2.5", details: { scope: "username", failures: 4, delaySeconds: 60 } });
  });

  it("does nothing when switched off", async () => {
    const throttle = new CountingLoginThrottle({ limits, settings: settings({ enabled: false }) });
    await fail(throttle, "frank", "192.0.2.6", 20);
    expect(await waitOf(throttle, "frank", "192.0.2.6")).toBe(0);
  });
});

const postgres: PostgresServer | null = await startPostgres();

describe.skipIf(!postgres)("throttle on two instances sharing one PostgreSQL", () => {
  const pools: pg.Pool[] = [];
  const instances: RateLimits[] = [];

  beforeAll(async () => {
    const url = await postgres!.createDatabase("throttle");
    for (let i = 0; i < 2; i++) {
      const pool = new pg.Pool({ connectionString: url, max: 3 });
      pool.on("error", () => undefined);
      pools.push(pool);
      instances.push(createRateLimits({ mode: "postgres", pool }, { sweepIntervalMs: 0 }));
    }
    await Promise.all(instances.map((limits) => limits.start()));
  });

  afterAll(async () => {
    await Promise.all(instances.map((limits) => limits.close()));
    await Promise.all(pools.map((pool) => pool.end()));
    await postgres?.stop();
  });

  it("counts the failures once for the node: two instances do not give twice the attempts", async () => {
    const [a, b] = instances.map((limits) => new CountingLoginThrottle({ limits, settings: settings() })) as [CountingLoginThrottle, CountingLoginThrottle];
    // Four failures, alternating instances: the free three are used up together, the fourth starts the delay.
    for (let i = 0; i < 4; i++) await (i % 2 ? a : b).failed({ username: "grace", address: "192.0.2.7" });
    expect(await waitOf(a, "grace", "192.0.2.7")).toBeGreaterThan(0);
    expect(await waitOf(b, "grace", "192.0.2.7")).toBeGreaterThan(0);
    // A success on one instance clears the username on both.
    await a.succeeded({ username: "grace", address: "192.0.2.8" });
    expect(await waitOf(b, "grace", "192.0.2.9")).toBe(0);
  });
});
