/**
 * Several PostgresCluster instances on one real PostgreSQL, in one process: exactly one leader with strictly
 * increasing epochs, a graceful handover on close, signals reaching every instance (the publisher too) once and
 * in order, a lost NOTIFY covered by the poll, state for a late starter, and membership.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer, testClient } from "../helpers/postgres-server.js";
import type { SignalTopic } from "../../src/cluster/cluster-types.js";
import { clusterDatabase, instance, sleep, waitFor, type TestInstance } from "./support.js";

const server: PostgresServer | null = await startPostgres();

afterAll(async () => {
  await server?.stop();
});

/** Starts `count` instances on a fresh database; `stopAll` closes whatever is still running. */
async function group(count: number, options: Parameters<typeof instance>[2] = {}) {
  const url = await clusterDatabase(server!);
  const all: TestInstance[] = [];
  for (let i = 0; i < count; i++) {
    const member = instance(url, `i${i}`, options);
    await member.cluster.start();
    all.push(member);
  }
  return { url, all, stopAll: () => Promise.all(all.map((member) => member.stop())) };
}

function leaders(all: TestInstance[]): TestInstance[] {
  return all.filter((member) => member.cluster.leadership.isLeader);
}

describe.skipIf(!server)("PostgresCluster on one database", () => {
  it("elects exactly one leader among three, recorded with its epoch, and hands over on close", async () => {
    const { url, all, stopAll } = await group(3);
    try {
      // Every epoch a listener was told, across all instances, and the leader count whenever it changes.
      const epochs: number[] = [];
      let overlap = false;
      for (const member of all) {
        member.cluster.leadership.onChange((leader) => {
          if (leader) epochs.push(member.cluster.leadership.epoch);
          if (leaders(all).length > 1) overlap = true;
        });
      }
      const first = await waitFor("a leader", () => (leaders(all).length === 1 ? leaders(all)[0] : undefined));
      const db = testClient({ connectionString: url });
      await db.connect();
      try {
        const row = (await db.query("SELECT instance_id, epoch FROM cluster_leader WHERE job = 'singletons'")).rows[0];
        expect(row.instance_id).toBe(first.cluster.instanceId);
        expect(Number(row.epoch)).toBe(first.cluster.leadership.epoch);
      } finally {
        await db.end();
      }
      expect(await first.cluster.leader()).toMatchObject({ instanceId: first.cluster.instanceId, epoch: first.cluster.leadership.epoch });

      // A few heartbeats later still exactly one (the others' bids keep failing).
      await sleep(1_000);
      expect(leaders(all)).toEqual([first]);

      // Graceful: close() unlocks, one of the two others takes over with a higher epoch.
      const firstEpoch = first.cluster.leadership.epoch;
      const toldFalse = new Promise<void>((resolve) => first.cluster.leadership.onChange((leader) => (leader ? undefined : resolve())));
      await first.stop();
      await toldFalse;
      const rest = all.filter((member) => member !== first);
      const second = await waitFor("a second leader", () => (leaders(rest).length === 1 ? leaders(rest)[0] : undefined));
      expect(second.cluster.leadership.epoch).toBeGreaterThan(firstEpoch);

      // And once more: the third instance alone.
      await second.stop();
      const third = rest.find((member) => member !== second)!;
      await waitFor("the third leader", () => third.cluster.leadership.isLeader);
      expect(third.cluster.leadership.epoch).toBeGreaterThan(second.cluster.leadership.epoch);
      expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
      expect(new Set(epochs).size).toBe(epochs.length);
      expect(overlap).toBe(false);
    } finally {
      await stopAll();
    }
  });

  it("steps a leader down when its leadership row names a newer epoch", async () => {
    const { url, all, stopAll } = await group(1);
    try {
      const [only] = all;
      await waitFor("a leader", () => only!.cluster.leadership.isLeader);
      const told: boolean[] = [];
      only!.cluster.leadership.onChange((leader) => told.push(leader));
      const epoch = only!.cluster.leadership.epoch;
      // What a newer leader's bump looks like to a deposed one (its lock lost unnoticed).
      const db = testClient({ connectionString: url });
      await db.connect();
      await db.query("UPDATE cluster_leader SET epoch = epoch + 1, instance_id = 'someone-else' WHERE job = 'singletons'");
      await db.end();
      await waitFor("the step-down", () => told[0] === false);
      // It was only fenced, not cut off: it bids again, wins, and leads with an epoch above the intruder's.
      await waitFor("leading again", () => only!.cluster.leadership.isLeader);
      expect(only!.cluster.leadership.epoch).toBe(epoch + 2);
    } finally {
      await stopAll();
    }
  });

  it("delivers every signal to every instance, the publisher included, exactly once and in publication order", async () => {
    const { url, all, stopAll } = await group(3);
    try {
      const got = all.map(() => [] as Array<{ topic: SignalTopic; n: unknown; from: string; fromSelf: boolean }>);
      all.forEach((member, index) => {
        for (const topic of ["token_revoked", "health_probe"] as const) {
          member.cluster.signals.subscribe(topic, (payload, meta) => got[index]!.push({ topic, n: payload.n, from: meta.origin, fromSelf: meta.fromSelf }));
        }
      });
      // All three publish at once, interleaved: the log's order is the one order everybody must see.
      await Promise.all(
        all.map(async (member, index) => {
          for (let n = 0; n < 15; n++) {
            await member.cluster.signals.publish(n % 2 ? "token_revoked" : "health_probe", { n: `${index}-${n}` });
          }
        }),
      );
      await waitFor("45 signals on every instance", () => got.every((list) => list.length >= 45));
      await sleep(600); // a poll or two more: nothing is delivered twice
      const db = testClient({ connectionString: url });
      await db.connect();
      const order = (await db.query("SELECT payload->>'n' AS n FROM cluster_signals ORDER BY id")).rows.map((row) => row.n as string);
      await db.end();
      expect(order).toHaveLength(45);
      all.forEach((member, index) => {
        const list = got[index]!;
        expect(list.map((entry) => entry.n)).toEqual(order);
        for (const entry of list) {
          expect(entry.fromSelf).toBe(entry.from === member.cluster.instanceId);
          expect(entry.topic).toBe(Number(String(entry.n).split("-")[1]) % 2 ? "token_revoked" : "health_probe");
        }
        // Each instance published 15 of them.
        expect(list.filter((entry) => entry.fromSelf)).toHaveLength(15);
      });
    } finally {
      await stopAll();
    }
  });

  it("delivers signals whose NOTIFY never came (rows written without one) through the poll, in id order", async () => {
    const { url, all, stopAll } = await group(2);
    try {
      const got = all.map(() => [] as unknown[]);
      all.forEach((member, index) => member.cluster.signals.subscribe("vault_changed", (payload) => got[index]!.push(payload.n)));
      // Twelve at once, read in one batch by the poll: ids 1..12 must come in numeric order (10 after 9, not after 1).
      const db = testClient({ connectionString: url });
      await db.connect();
      await db.query(
        `INSERT INTO cluster_signals (id, topic, payload, origin)
         SELECT n, 'vault_changed', jsonb_build_object('n', n), 'elsewhere' FROM generate_series(1, 12) AS n`,
      );
      await db.end();
      const expected = Array.from({ length: 12 }, (_, i) => i + 1);
      await waitFor("the silent signals on both", () => got.every((list) => list.length === 12));
      expect(got).toEqual([expected, expected]);
    } finally {
      await stopAll();
    }
  });

  it("prunes old signals but keeps the newest, so ids go on; a reader that finds a hole is told it missed signals", async () => {
    const { url, all, stopAll } = await group(1, { signalRetentionMs: 60_000 });
    try {
      const [only] = all;
      // The leader prunes once on becoming leader, then every minute: let that first run pass before ageing rows.
      await waitFor("leading", () => only!.cluster.leadership.isLeader);
      await sleep(1_000);
      const missed: number[] = [];
      only!.cluster.signals.onMissed(() => missed.push(Date.now()));
      const got: unknown[] = [];
      only!.cluster.signals.subscribe("federation_changed", (payload) => got.push(payload.n));
      for (let n = 1; n <= 3; n++) await only!.cluster.signals.publish("federation_changed", { n });
      await waitFor("three signals", () => got.length === 3);

      const db = testClient({ connectionString: url });
      await db.connect();
      try {
        await db.query("UPDATE cluster_signals SET at = now() - interval '1 hour'");
        expect(await only!.cluster.signals.prune()).toBe(2);
        expect((await db.query("SELECT id::int AS id FROM cluster_signals")).rows).toEqual([{ id: 3 }]);
        await only!.cluster.signals.publish("federation_changed", { n: 4 });
        expect((await db.query("SELECT max(id)::int AS id FROM cluster_signals")).rows).toEqual([{ id: 4 }]);
        await waitFor("the fourth", () => got.length === 4);
        expect(missed).toEqual([]);

        // What an instance cut off for longer than the retention finds: ids 5..7 gone before it read them.
        await db.query(`INSERT INTO cluster_signals (id, topic, payload, origin) VALUES (8, 'federation_changed', '{"n":8}', 'elsewhere')`);
      } finally {
        await db.end();
      }
      await waitFor("the signal after the hole", () => got.length === 5);
      expect(got).toEqual([1, 2, 3, 4, 8]);
      expect(missed).toHaveLength(1);
    } finally {
      await stopAll();
    }
  });

  it("tells a late starter the current state, and only signals published after it started", async () => {
    const { url, all, stopAll } = await group(1);
    try {
      const [early] = all;
      await early!.cluster.signals.publish("health_verdict", { serviceId: "svc-a", verdict: "failing" });
      await early!.cluster.signals.publish("health_verdict", { serviceId: "svc-b", verdict: "passing" });
      await early!.cluster.signals.publish("health_verdict", { serviceId: "svc-a", verdict: "passing" });
      await early!.cluster.signals.publish("health_verdict", { serviceId: "svc-c", verdict: "failing" });
      await early!.cluster.signals.publish("health_verdict", { serviceId: "svc-c", verdict: null });

      const late = instance(url, "late");
      all.push(late);
      const seen: unknown[] = [];
      late.cluster.signals.subscribe("health_verdict", (payload) => seen.push(payload.serviceId));
      await late.cluster.start();
      const state = await late.cluster.signals.state("health_verdict");
      expect(Object.fromEntries(state)).toEqual({
        "svc-a": { serviceId: "svc-a", verdict: "passing" },
        "svc-b": { serviceId: "svc-b", verdict: "passing" },
      });
      await early!.cluster.signals.publish("health_verdict", { serviceId: "svc-d", verdict: "failing" });
      await waitFor("the new verdict", () => seen.length === 1);
      await sleep(600);
      expect(seen).toEqual(["svc-d"]);
    } finally {
      await stopAll();
    }
  });

  it("lists live members with their reports and the leader flag, and drops one that stopped beating", async () => {
    const { all, stopAll } = await group(2);
    try {
      const [a, b] = all;
      a!.cluster.report({ revision: 42 });
      await waitFor("a leader", () => leaders(all).length === 1);
      const members = await waitFor("both members with a's report", async () => {
        const list = await b!.cluster.members();
        return list.length === 2 && list.find((m) => m.instanceId === a!.cluster.instanceId)?.info.revision === 42 ? list : undefined;
      });
      expect(members.map((m) => m.name).sort()).toEqual(["i0", "i1"]);
      expect(members.filter((m) => m.leader).map((m) => m.instanceId)).toEqual([leaders(all)[0]!.cluster.instanceId]);
      expect(members.every((m) => m.version === "test" && !Number.isNaN(Date.parse(m.lastSeenAt)))).toBe(true);

      // A silent instance (its heartbeat stopped, its row left behind as after kill -9) drops out after the timeout.
      // Simulated by ending its pool: its membership writes fail from then on.
      const silent = leaders(all)[0] === a ? b! : a!;
      const other = silent === a ? b! : a!;
      await silent.pool.end();
      await waitFor("the silent member dropped", async () => {
        const list = await other.cluster.members();
        return list.length === 1 && list[0]!.instanceId === other.cluster.instanceId;
      });
    } finally {
      await stopAll();
    }
  });

  it("steps a leader down when it cannot write its membership row, and another takes over", async () => {
    const { all, stopAll } = await group(2);
    try {
      const first = await waitFor("a leader", () => (leaders(all).length === 1 ? leaders(all)[0] : undefined));
      const other = all.find((member) => member !== first)!;
      const toldFalse = new Promise<void>((resolve) => first.cluster.leadership.onChange((leader) => (leader ? undefined : resolve())));
      // Its pool gone, its dedicated connection fine: a leader the others cannot see alive must not lead.
      await first.pool.end();
      await toldFalse;
      await waitFor("the other leads", () => other.cluster.leadership.isLeader);
      expect(first.cluster.leadership.isLeader).toBe(false);
      expect(other.cluster.leadership.epoch).toBeGreaterThan(first.cluster.leadership.epoch);
    } finally {
      await stopAll();
    }
  });
});
