/**
 * `client.cluster()` and the cluster summary of `client.status()` against a real single-process server: mode
 * `single`, this instance as the one instance and the leader with every singleton job; admin only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError } from "@kai/sdk";
import { CLUSTER_JOBS } from "@kai/protocol";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;

beforeAll(async () => {
  registry = await startRegistry({ cluster: { instanceName: "sdk-node" } });
});
afterAll(async () => {
  await registry?.close();
});

describe("client.cluster()", () => {
  it("answers one instance that is the leader and runs every job", async () => {
    const cluster = await registry.admin.cluster();
    expect(cluster.mode).toBe("single");
    expect(cluster.instance.name).toBe("sdk-node");
    expect(cluster.instances).toHaveLength(1);
    expect(cluster.instances[0]).toMatchObject({ id: cluster.instance.id, leader: true, ready: true, lagRevisions: 0 });
    // Every job but scheduled backups (off unless `backup.schedule` is set).
    expect([...cluster.instances[0]!.jobs].sort()).toEqual(CLUSTER_JOBS.filter((job) => job !== "backups").sort());
    expect(cluster.leader?.instanceId).toBe(cluster.instance.id);
    expect(cluster.cache.redis).toBe("off");
  });

  it("is refused to a token without admin, as a KaiApiError forbidden", async () => {
    const reader = await registry.clientWith(["services:read"]);
    const error: unknown = await reader.cluster().then(() => undefined, (reason: unknown) => reason);
    expect(error).toBeInstanceOf(KaiApiError);
    expect({ status: (error as KaiApiError).status, code: (error as KaiApiError).code }).toEqual({ status: 403, code: "forbidden" });
  });

  it("agrees with the status summary any token can read", async () => {
    const reader = await registry.clientWith(["services:read"]);
    const [status, cluster] = await Promise.all([reader.status(), registry.admin.cluster()]);
    expect(status.cluster).toMatchObject({ mode: "single", instance: cluster.instance, instances: 1, leader: { instanceId: cluster.instance.id } });
  });
});
