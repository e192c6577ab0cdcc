/**
 * The node's own events published once in a cluster: two instances of one node on a real PostgreSQL, their buses on a
 * real nats-server (both started here; skipped with a message locally when missing, a failure under CI=true). A task
 * run by one instance notifies its owner once, seen on both; a look at the cluster (summary) is published by the
 * leader only; a custom role changed through one instance is one CONFIG_UPDATE on both.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusEventFilterSchema, type BusEvent } from "@kai/protocol";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { startNats, type NatsServer } from "../helpers/nats-server.js";
import { eventually, mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { HttpAgent } from "../agents/kcore/http-agent.js";

let postgres: PostgresServer | null = null;
let nats: NatsServer | null = null;
let first: TestServer;
let second: TestServer;
let agent: HttpAgent | undefined;
const seen = new Map<TestServer, BusEvent[]>();
const stops: Array<() => void> = [];

postgres = await startPostgres();
nats = postgres ? await startNats() : null;

/** Collects every event an admin subscriber of `server` receives. */
function collect(server: TestServer): void {
  const events: BusEvent[] = [];
  seen.set(server, events);
  const subscription = server.mesh.events.subscribe({ owner: "admin", admin: true }, BusEventFilterSchema.parse({}));
  stops.push(() => subscription.close());
  void (async () => {
    for (let item = await subscription.next(); item; item = await subscription.next()) if (item.type === "event") events.push(item.event);
  })();
}

const on = (server: TestServer, match: (event: BusEvent) => boolean) => seen.get(server)!.filter(match);

describe.runIf(postgres !== null && nats !== null)("two instances of one node", () => {
  beforeAll(async () => {
    const url = await postgres!.createDatabase("publishers");
    const config = (name: string) => ({
      rateLimit: { enabled: false },
      cluster: { instanceName: name },
      storage: { kind: "postgres" as const, postgres: { url } },
      bus: { kind: "nats" as const, nats: { url: nats!.url, subject: `kai-test.${randomUUID().slice(0, 8)}` } },
    });
    const env = { KAI_VAULT_PASSPHRASE: "publishers on a cluster, a test passphrase" };
    // One after the other: the first creates the database's schema and the vault.
    first = await startTestServer({ env, config: config("alpha") });
    const subject = first.config.bus.nats.subject;
    second = await startTestServer({ env, config: { ...config("beta"), bus: { kind: "nats" as const, nats: { url: nats!.url, subject } } } });
    collect(first);
    collect(second);
  }, 90_000);
  afterAll(async () => {
    for (const stop of stops) stop();
    await second?.dispose();
    await first?.dispose();
    await agent?.close();
    await nats?.stop();
    await postgres?.stop();
  });

  it("notifies a task's owner once, whichever instance runs it", async () => {
    const alice = await mintToken(first, ["tasks:run", "agents:read", "agents:write"], "alice");
    agent = await HttpAgent.start("kExecutor:cluster", () => ({ body: { output: { ok: true } } }));
    await agent.register(first, alice, ["cluster_work"]);
    const response = await first.request("/api/agent/task", { method: "POST", token: alice, json: { goal: "once", plan: { goal: "once", steps: [{ id: "one", capability: "cluster_work", input: {} }] } } });
    expect(response.status, await response.clone().text()).toBe(202);
    const { task } = (await response.json()) as { task: { id: string } };
    const mine = (event: BusEvent) => event.type === "USER_NOTIFICATION" && event.payload.taskId === task.id;
    await eventually(async () => on(first, mine).length > 0 && on(second, mine).length > 0, 15_000);
    // Every other event of the task has arrived by now too (published before it): no second notification follows.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const server of [first, second]) expect(on(server, mine).map((event) => event.payload.kind)).toEqual(["task_completed"]);
  }, 30_000);

  it("publishes the cluster's summary from the leader only", async () => {
    await Promise.all([first.publishers.status.tick(), second.publishers.status.tick()]);
    const summary = (event: BusEvent) => event.type === "SYSTEM_STATUS" && event.payload.kind === "summary";
    await eventually(async () => on(first, summary).length > 0 && on(second, summary).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const server of [first, second]) {
      expect(on(server, summary)).toHaveLength(1);
      expect(on(server, summary)[0]!.payload.instances).toBe(2);
    }
  });

  it("announces a role changed through one instance once, by name and never its scopes", async () => {
    // Tokens are the node's, not an instance's: the first instance's admin token works on the second.
    const response = await second.request("/api/roles/auditor-x", { method: "PUT", token: first.adminToken, json: { scopes: ["services:read"] } });
    expect(response.status, await response.text()).toBe(201);
    const update = (event: BusEvent) => event.type === "CONFIG_UPDATE" && event.payload.key === "auth.roles";
    await eventually(async () => on(first, update).length > 0 && on(second, update).length > 0, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const server of [first, second]) {
      expect(on(server, update)).toHaveLength(1);
      expect(on(server, update)[0]!.payload).toEqual({ key: "auth.roles", instance: "beta" });
    }
  });
});
