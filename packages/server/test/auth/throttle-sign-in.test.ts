// Password guessing past the limit, through the real server: after the free failures the next attempt is refused
// with 429 `login_throttled` and Retry-After, even with the right password, for a username that exists and one that
// does not alike; an address guessing many usernames is slowed as an address; another address is not; a user at an
// address where they signed in before is not locked out by guessing elsewhere; two instances on one PostgreSQL
// count the failures once. Each case signs in from its own loopback address (127.0.0.x) so the cases do not share
// address counts. The delays are minutes long, so "refused now" does not depend on the machine's speed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "undici";
import { ErrorBodySchema } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { startInstances, type Instances, type InstancesOptions } from "../cluster/support/instances.js";
import { mergeSettings } from "../../src/config/load-config.js";
import { SIGN_IN_TEST_CONFIG, createUser, startSignInServer } from "./sign-in-support.js";

const PASSWORD = "correct horse battery staple";
const WRONG = "not the password at all";
const THROTTLE = { freeAttempts: 2, addressFreeAttempts: 4, baseDelaySeconds: 300, maxDelaySeconds: 600, windowSeconds: 3600 };
/** The sign-in tests' roomy auth tier (it must not be what refuses here) with a throttle of small counts and long delays. */
const CONFIG = { rateLimit: { signIn: THROTTLE } };

const dispatchers = new Map<string, Agent>();
/** A client whose requests come from `address` (any 127.0.0.0/8 address is this host's loopback). */
function from(address: string): Agent {
  let agent = dispatchers.get(address);
  if (!agent) dispatchers.set(address, (agent = new Agent({ localAddress: address })));
  return agent;
}

interface Attempt {
  status: number;
  code: string | undefined;
  retryAfter: number | null;
}

async function attempt(server: TestServer, address: string, username: string, password: string): Promise<Attempt> {
  const response = await fetch(`${server.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
    // @ts-expect-error undici's dispatcher option is accepted by Node's fetch but not in lib.dom's RequestInit.
    dispatcher: from(address),
  });
  const body: unknown = await response.json();
  const retryAfter = response.headers.get("retry-after");
  return { status: response.status, code: response.status === 200 ? undefined : ErrorBodySchema.parse(body).error.code, retryAfter: retryAfter === null ? null : Number(retryAfter) };
}

function expectThrottled(result: Attempt): void {
  expect(result.status).toBe(429);
  expect(result.code).toBe("login_throttled");
  expect(result.retryAfter).toBeGreaterThanOrEqual(1);
  expect(result.retryAfter).toBeLessThanOrEqual(THROTTLE.maxDelaySeconds);
}

async function failTimes(server: TestServer, address: string, username: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) expect((await attempt(server, address, username, WRONG)).code, `failure ${i + 1}`).toBe("invalid_credentials");
}

afterAll(async () => {
  await Promise.all([...dispatchers.values()].map((agent) => agent.close()));
});

describe("sign-in throttle on one server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startSignInServer({ config: CONFIG });
    await createUser(server, "alice", PASSWORD);
    await createUser(server, "bob", PASSWORD);
  });
  afterAll(async () => server?.dispose());

  it("refuses the attempt after the free failures with 429 and Retry-After, even with the right password", async () => {
    await failTimes(server, "127.0.0.11", "alice", THROTTLE.freeAttempts + 1);
    expectThrottled(await attempt(server, "127.0.0.11", "alice", PASSWORD));
    // The username waits wherever the attempt comes from (alice never signed in anywhere).
    expectThrottled(await attempt(server, "127.0.0.12", "alice", PASSWORD));
  });

  it("answers a username that does not exist the same way", async () => {
    await failTimes(server, "127.0.0.13", "nobody-at-all", THROTTLE.freeAttempts + 1);
    expectThrottled(await attempt(server, "127.0.0.13", "nobody-at-all", WRONG));
  });

  it("slows an address that guesses across usernames, and no other address", async () => {
    for (let i = 0; i <= THROTTLE.addressFreeAttempts; i++) await failTimes(server, "127.0.0.14", `sprayed-${i}`, 1);
    expectThrottled(await attempt(server, "127.0.0.14", "sprayed-new", WRONG));
    expect((await attempt(server, "127.0.0.15", "sprayed-new", WRONG)).code).toBe("invalid_credentials");
  });

  it("does not let guessing from elsewhere lock a user out at the address where they signed in", async () => {
    expect((await attempt(server, "127.0.0.16", "bob", PASSWORD)).status).toBe(200);
    await failTimes(server, "127.0.0.17", "bob", THROTTLE.freeAttempts + 1);
    expectThrottled(await attempt(server, "127.0.0.17", "bob", PASSWORD));
    expect((await attempt(server, "127.0.0.16", "bob", PASSWORD)).status).toBe(200);
  });

  it("records each delay that starts as sign_in_throttled", async () => {
    const response = await server.request("/api/security/events?type=sign_in_throttled&limit=50");
    expect(response.status).toBe(200);
    const { events } = (await response.json()) as { events: Array<{ username: string | null; details: Record<string, unknown> }> };
    expect(events.some((event) => event.username === "alice" && event.details.scope === "username")).toBe(true);
    expect(events.some((event) => event.details.scope === "address")).toBe(true);
    expect(JSON.stringify(events)).not.toContain(WRONG);
  });
});

const postgres: PostgresServer | null = await startPostgres();

describe.skipIf(!postgres)("sign-in throttle across two instances on one PostgreSQL", () => {
  let instances: Instances | undefined;
  beforeAll(async () => {
    instances = await startInstances(postgres!, { database: "throttle_sign_in", config: mergeSettings(SIGN_IN_TEST_CONFIG, CONFIG) as InstancesOptions["config"] });
  }, 60_000);
  afterAll(async () => {
    await instances?.dispose();
    await postgres?.stop();
  });

  it("counts failures once for the node: alternating instances does not double the attempts", async () => {
    const [a, b] = instances!.servers as [TestServer, TestServer];
    await createUser(a, "carol", PASSWORD);
    for (let i = 0; i <= THROTTLE.freeAttempts; i++) await failTimes(i % 2 ? a : b, "127.0.0.21", "carol", 1);
    expectThrottled(await attempt(a, "127.0.0.21", "carol", PASSWORD));
    expectThrottled(await attempt(b, "127.0.0.21", "carol", PASSWORD));
  });
});
