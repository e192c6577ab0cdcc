// Cross-instance wakes over a real Redis (and a real PostgreSQL for the parts they wake): a wake published by one
// instance reaches the others on its kind and key prefix only, never its publisher; a burst is coalesced; killing
// Redis throws nothing into publishers and, once it is back, subscribers resubscribe, read once, and get wakes
// again; a change committed on one instance reaches another's feed through the wake alone; a signal published on
// one instance wakes the others.
import { describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { RedisFanout, wakeOnOwnSignals, type WakeKind } from "../../../src/cluster/redis/redis-fanout.js";
import { draft, registered } from "../../storage/__fixtures__/records.js";
import { clusterDatabase, instance, type TestInstance } from "../support.js";
import { closeRedisClient, openStore, redisClient, silent, tailedFeed, until } from "./support.js";
import { cleanupAfterEach, useRealServers } from "../support/real-servers.js";

const servers = useRealServers();

/** Everything a test opened, closed after it in reverse order. */
const cleanup = cleanupAfterEach();

interface Node {
  fanout: RedisFanout;
  client: Redis;
  woken: Record<WakeKind, number>;
}

/** One instance's fan-out on its own client, counting the wakes it receives; resolves once it receives. */
async function node(instanceId: string, keyPrefix = "kai:"): Promise<Node> {
  const client = await redisClient(servers.redis!.url(), `test:${instanceId}`);
  cleanup.push(() => closeRedisClient(client));
  const fanout = new RedisFanout({ redis: client, keyPrefix, instanceId, logger: silent });
  cleanup.push(() => fanout.close());
  const woken = { changes: 0, signals: 0 };
  fanout.onWake("changes", () => woken.changes++);
  fanout.onWake("signals", () => woken.signals++);
  await until(`${instanceId} subscribed`, () => fanout.receiving);
  // The first subscription wakes once (as after any reconnect); counting starts after it.
  await until(`${instanceId}'s first wake`, () => woken.changes > 0 && woken.signals > 0);
  woken.changes = 0;
  woken.signals = 0;
  return { fanout, client, woken };
}

describe("Redis wakes", () => {
  it("reach the other instances on their kind and key prefix, and never the instance that published them", async (context) => {
    if (!servers.redis) return context.skip();
    const [a, b, c, d] = [await node("a"), await node("b"), await node("c", "other:"), await node("d", "other:")];
    a.fanout.publishWake("changes");
    await until("b woken for changes", () => b.woken.changes === 1);
    expect(b.woken.signals).toBe(0);
    // Messages reach one connection in the order Redis ran the PUBLISHes: once A hears B's wake, it would have
    // heard its own earlier one.
    b.fanout.publishWake("signals");
    await until("a woken for signals", () => a.woken.signals === 1);
    expect(a.woken.changes).toBe(0);
    // Another node's prefix: C hears D (same prefix) and would have heard A's wake before it.
    d.fanout.publishWake("changes");
    await until("c woken by d", () => c.woken.changes === 1);
    expect(c.woken).toEqual({ changes: 1, signals: 0 });
    expect(b.woken.changes).toBe(1);
  });

  it("coalesce a burst: one PUBLISH at a time and one more after it, so the last wake still arrives", async (context) => {
    if (!servers.redis) return context.skip();
    const [a, b] = [await node("a"), await node("b")];
    for (let i = 0; i < 100; i++) a.fanout.publishWake("changes");
    await until("b woken twice", () => b.woken.changes === 2);
    // A sentinel from a third instance, published after the burst's second wake arrived: B counts exactly it.
    const c = await node("c");
    c.fanout.publishWake("changes");
    await until("b woken by c", () => b.woken.changes >= 3);
    expect(b.woken.changes).toBe(3);
  });

  it("survive Redis being killed: publishing throws nothing, and once it is back subscribers read once and hear wakes again", async (context) => {
    if (!servers.redis) return context.skip();
    const [a, b] = [await node("a"), await node("b")];
    await servers.redis.kill();
    await until("b's subscription lost", () => !b.fanout.receiving);
    // Never throws, never rejects (an unhandled rejection would fail the run).
    for (let i = 0; i < 10; i++) expect(() => a.fanout.publishWake("changes")).not.toThrow();
    expect(b.woken.changes).toBe(0);
    await servers.redis.start();
    await until("b subscribed again", () => b.fanout.receiving);
    // Wakes sent while it was away are lost: the resubscription wakes every callback once instead.
    await until("b's wake after resubscribing", () => b.woken.changes >= 1 && b.woken.signals >= 1);
    await until("a's client back", () => a.client.status === "ready");
    const before = b.woken.changes;
    a.fanout.publishWake("changes");
    await until("b woken by a again", () => b.woken.changes > before);
  });

  it("after close, no callback runs and publishing is a no-op", async (context) => {
    if (!servers.redis) return context.skip();
    const [a, b, c] = [await node("a"), await node("b"), await node("c")];
    await b.fanout.close();
    a.fanout.publishWake("signals");
    await until("c woken", () => c.woken.signals === 1);
    expect(b.woken.signals).toBe(0);
    b.fanout.publishWake("changes");
    // C hears A's later wake but nothing from the closed B before it.
    a.fanout.publishWake("changes");
    await until("c woken by a", () => c.woken.changes === 1);
    expect(c.woken.changes).toBe(1);
  });
});

describe("Redis wakes driving PostgreSQL readers", () => {
  it("a change committed on A reaches B's feed through the wake alone (B hears no NOTIFY and polls once in ten minutes)", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const url = await servers.postgres.createDatabase("wakes");
    const storeA = await openStore(url);
    cleanup.push(() => storeA.close());
    const storeB = await openStore(url);
    cleanup.push(() => storeB.close());
    const { feed, tailer } = await tailedFeed(storeB, { deaf: true, pollIntervalMs: 600_000 });
    cleanup.push(() => tailer.stop());
    const [a, b] = [await node("a"), await node("b")];
    b.fanout.onWake("changes", () => tailer.kick());

    const first = await storeA.writeService(registered(draft("woken-1")));
    a.fanout.publishWake("changes");
    await until("B's feed has A's change", () => feed.revision >= first.revision);
    expect(feed.changesSince(first.revision - 1)?.map((change) => change.event.service.id)).toEqual(["woken-1"]);
    // And again, several commits behind one wake: the log gives them all, in order.
    const more = await storeA.writeServices([registered(draft("woken-2")), registered(draft("woken-3"))]);
    a.fanout.publishWake("changes");
    await until("B's feed has both", () => feed.revision >= more[1]!.revision);
    expect(feed.changesSince(first.revision)?.map((change) => change.event.service.id)).toEqual(["woken-2", "woken-3"]);
  });

  it("a signal published on A wakes B's signal reader (A announces its own signals after they commit)", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const url = await clusterDatabase(servers.postgres);
    const one: TestInstance = instance(url, "a");
    cleanup.push(() => one.stop());
    await one.cluster.start();
    const [a, b] = [await node(one.cluster.instanceId), await node("b")];
    const off = wakeOnOwnSignals(one.cluster.signals, a.fanout);
    cleanup.push(async () => off());
    await one.cluster.signals.publish("federation_changed", { origin: "test" });
    await until("b woken for signals", () => b.woken.signals === 1);
    expect(b.woken.changes).toBe(0);
  });
});
