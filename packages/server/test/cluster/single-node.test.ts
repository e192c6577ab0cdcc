/**
 * The cluster of one (SQLite or memory storage): always the leader at epoch 1 while started, signals delivered in
 * process after publish returns, in order, marked as its own, and state topics kept by key.
 */
import { describe, expect, it } from "vitest";
import { SingleNodeCluster } from "../../src/cluster/single-node.js";
import { memoryLogger, waitFor } from "./support.js";

function node() {
  const logger = memoryLogger();
  return { logger, cluster: new SingleNodeCluster({ instanceName: "solo", version: "1.2.3", url: "http://127.0.0.1:4000", logger }) };
}

describe("SingleNodeCluster", () => {
  it("leads from start to close, with epoch 1, telling its listeners", async () => {
    const { cluster } = node();
    const told: boolean[] = [];
    cluster.leadership.onChange((leader) => told.push(leader));
    expect(cluster.leadership.isLeader).toBe(false);
    expect(cluster.leadership.epoch).toBe(0);
    expect(await cluster.leader()).toBeNull();

    await cluster.start();
    expect(cluster.leadership.isLeader).toBe(true);
    expect(cluster.leadership.epoch).toBe(1);
    expect(await cluster.leader()).toMatchObject({ instanceId: cluster.instanceId, epoch: 1 });

    await cluster.close();
    expect(cluster.leadership.isLeader).toBe(false);
    expect(told).toEqual([true, false]);
  });

  it("lists itself as the one member, with what it reported", async () => {
    const { cluster } = node();
    await cluster.start();
    cluster.report({ revision: 7 });
    cluster.report({ vault: "unlocked" });
    const members = await cluster.members();
    expect(members).toHaveLength(1);
    expect(members[0]).toMatchObject({
      instanceId: cluster.instanceId,
      name: "solo",
      url: "http://127.0.0.1:4000",
      version: "1.2.3",
      leader: true,
      info: { revision: 7, vault: "unlocked" },
    });
    await cluster.close();
  });

  it("delivers signals after publish returns, in order, exactly once, marked fromSelf", async () => {
    const { cluster } = node();
    await cluster.start();
    const got: Array<[string, unknown, boolean]> = [];
    cluster.signals.subscribe("token_revoked", (payload, meta) => got.push(["token_revoked", payload.tokenId, meta.fromSelf]));
    const off = cluster.signals.subscribe("vault_changed", (payload, meta) => got.push(["vault_changed", payload.reason, meta.fromSelf]));
    await cluster.signals.publish("token_revoked", { tokenId: "t1" });
    await cluster.signals.publish("vault_changed", { reason: "rotation" });
    await cluster.signals.publish("token_revoked", { tokenId: "t2" });
    // Not inside publish: a handler never runs in the publisher's call stack.
    expect(got).toEqual([]);
    await waitFor("three signals", () => got.length === 3);
    expect(got).toEqual([
      ["token_revoked", "t1", true],
      ["vault_changed", "rotation", true],
      ["token_revoked", "t2", true],
    ]);
    off();
    await cluster.signals.publish("vault_changed", { reason: "again" });
    await cluster.signals.publish("token_revoked", { tokenId: "t3" });
    await waitFor("the fourth signal", () => got.length === 4);
    expect(got[3]).toEqual(["token_revoked", "t3", true]);
    await cluster.close();
  });

  it("keeps a failing handler from stopping the others", async () => {
    const { cluster, logger } = node();
    await cluster.start();
    const got: unknown[] = [];
    cluster.signals.subscribe("health_probe", () => {
      throw new Error("handler bug");
    });
    cluster.signals.subscribe("health_probe", (payload) => got.push(payload.serviceId));
    await cluster.signals.publish("health_probe", { serviceId: "svc", ok: true });
    await waitFor("the second handler", () => got.length === 1);
    expect(logger.lines.some((line) => line.level === "error")).toBe(true);
    await cluster.close();
  });

  it("keeps the latest health verdict per service, and forgets a cleared one", async () => {
    const { cluster } = node();
    await cluster.start();
    await cluster.signals.publish("health_verdict", { serviceId: "a", verdict: "failing" });
    await cluster.signals.publish("health_verdict", { serviceId: "b", verdict: "passing" });
    await cluster.signals.publish("health_verdict", { serviceId: "a", verdict: "passing" });
    await cluster.signals.publish("health_verdict", { serviceId: "b", verdict: null });
    const state = await cluster.signals.state("health_verdict");
    expect([...state.entries()]).toEqual([["a", { serviceId: "a", verdict: "passing" }]]);
    expect((await cluster.signals.state("token_revoked")).size).toBe(0);
    await cluster.close();
  });

  it("refuses a payload over the size limit", async () => {
    const { cluster } = node();
    await cluster.start();
    await expect(cluster.signals.publish("vault_changed", { reason: "x".repeat(5000) })).rejects.toThrow(/over 4096 bytes/);
    await cluster.close();
  });
});
