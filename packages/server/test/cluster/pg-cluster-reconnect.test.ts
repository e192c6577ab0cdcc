/**
 * PostgresCluster when connections fail: an instance whose dedicated connection is cut reconnects by itself,
 * gets the signals published while it was away (its NOTIFYs are lost, its poll is too slow to matter here), and
 * bids for leadership again; after a crash and restart of PostgreSQL itself every instance comes back, one leads
 * with a higher epoch, and signals flow again.
 */
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer, testClient } from "../helpers/postgres-server.js";
import { clusterDatabase, instance, sleep, waitFor } from "./support.js";

const server: PostgresServer | null = await startPostgres();

afterAll(async () => {
  await server?.stop();
});

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = testClient({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

describe.skipIf(!server)("PostgresCluster reconnection", () => {
  it("re-reads the signals it missed while its connection was down, and bids for leadership again", async () => {
    const url = await clusterDatabase(server!);
    // The cut instance opens its dedicated connection as a role of its own, so the test can keep it from
    // reconnecting (NOLOGIN) while the rest of the cluster carries on.
    const role = `cut_${Math.random().toString(36).slice(2, 8)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN`);
    await sql(url, `GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
    const roleUrl = url.replace("//kai@", `//${role}@`);
    // A poll of one minute: only the reconnect's own re-read can deliver within this test.
    const cut = instance(url, "cut", { clientConfig: { connectionString: roleUrl, connectionTimeoutMillis: 2_000 }, pollIntervalMs: 60_000 });
    const other = instance(url, "other");
    try {
      await cut.cluster.start();
      await waitFor("cut leads", () => cut.cluster.leadership.isLeader);
      await other.cluster.start();
      const got: unknown[] = [];
      cut.cluster.signals.subscribe("token_revoked", (payload, meta) => got.push([payload.tokenId, meta.fromSelf]));
      await other.cluster.signals.publish("token_revoked", { tokenId: "before" });
      await waitFor("the first signal", () => got.length === 1);

      const toldFalse = new Promise<void>((resolve) => cut.cluster.leadership.onChange((leader) => (leader ? undefined : resolve())));
      await sql(url, `ALTER ROLE ${role} NOLOGIN`);
      await sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", [role]);
      await toldFalse;
      await waitFor("the other takes over", () => other.cluster.leadership.isLeader);

      await other.cluster.signals.publish("token_revoked", { tokenId: "while-down-1" });
      await other.cluster.signals.publish("token_revoked", { tokenId: "while-down-2" });
      await sleep(1_000);
      expect(got).toHaveLength(1); // nothing can wake it: no connection to hear NOTIFY, a poll a minute away

      await sql(url, `ALTER ROLE ${role} LOGIN`);
      await waitFor("the missed signals after the reconnect", () => got.length === 3);
      expect(got).toEqual([
        ["before", false],
        ["while-down-1", false],
        ["while-down-2", false],
      ]);
      expect(cut.cluster.leadership.isLeader).toBe(false);

      // Back in the race: when the other leaves, the reconnected instance leads.
      const otherEpoch = other.cluster.leadership.epoch;
      await other.stop();
      await waitFor("cut leads again", () => cut.cluster.leadership.isLeader);
      expect(cut.cluster.leadership.epoch).toBeGreaterThan(otherEpoch);
    } finally {
      await other.stop();
      await cut.stop();
    }
  });

  it("comes back by itself after PostgreSQL is killed and restarted", async () => {
    const url = await clusterDatabase(server!);
    const a = instance(url, "a");
    const b = instance(url, "b");
    try {
      await a.cluster.start();
      await b.cluster.start();
      const got = { a: [] as unknown[], b: [] as unknown[] };
      a.cluster.signals.subscribe("federation_changed", (payload) => got.a.push(payload.n));
      b.cluster.signals.subscribe("federation_changed", (payload) => got.b.push(payload.n));
      const first = await waitFor("a leader", () => [a, b].find((member) => member.cluster.leadership.isLeader));
      const epochBefore = first.cluster.leadership.epoch;
      await a.cluster.signals.publish("federation_changed", { n: 1 });
      await waitFor("signal 1 on both", () => got.a.length === 1 && got.b.length === 1);

      await server!.kill();
      await waitFor("no leader while the database is gone", () => !a.cluster.leadership.isLeader && !b.cluster.leadership.isLeader);
      await expect(b.cluster.signals.publish("federation_changed", { n: 0 })).rejects.toThrow(/unavailable/);
      await server!.start();

      const leader = await waitFor("a leader after the restart", () => {
        const list = [a, b].filter((member) => member.cluster.leadership.isLeader);
        return list.length === 1 ? list[0] : undefined;
      }, 30_000);
      expect(leader.cluster.leadership.epoch).toBeGreaterThan(epochBefore);
      await waitFor("the publish works again", async () => {
        await b.cluster.signals.publish("federation_changed", { n: 2 });
        return true;
      });
      await waitFor("signal 2 on both", () => got.a.includes(2) && got.b.includes(2));
      await sleep(800);
      expect(got.a).toEqual([1, 2]);
      expect(got.b).toEqual([1, 2]);
      const members = await a.cluster.members();
      expect(members.map((member) => member.name).sort()).toEqual(["a", "b"]);
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);
});
