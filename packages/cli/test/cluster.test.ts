/**
 * `kai cluster` and the cluster lines of `kai status`, the built binary against a real single-process server:
 * mode single, this instance as the one instance and the leader (with since), every singleton job, caught up,
 * ready, vault unlocked; `--json` prints the API's document; a token without admin exits 4.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_JOBS, ClusterResponseSchema } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;

beforeAll(async () => {
  server = await startTestServer({ cluster: { instanceName: "cli-node" } });
  box = sandbox();
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

const kai = (args: string[], token = server.adminToken) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: token } });

describe("kai cluster", () => {
  it("--json prints the cluster document of the API", async () => {
    const result = await kai(["cluster", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const cluster = ClusterResponseSchema.parse(JSON.parse(result.stdout));
    expect(cluster).toMatchObject({ mode: "single", instance: { name: "cli-node" }, cache: { redis: "off" } });
    expect(cluster.instances).toHaveLength(1);
  });

  it("prints mode, leader with since, storage and cache, then one table row per instance", async () => {
    const cluster = ClusterResponseSchema.parse(JSON.parse((await kai(["cluster", "--json"])).stdout));
    const id = cluster.instance.id;
    const result = await kai(["cluster"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^mode:\s+single$/m);
    expect(result.stdout).toMatch(new RegExp(`^leader:\\s+cli-node \\(${id}\\) since \\S+, epoch \\d+$`, "m"));
    expect(result.stdout).toMatch(/^storage:\s+sqlite\b.*$/m);
    expect(result.stdout).toMatch(/^cache:\s+redis off$/m);
    const lines = result.stdout.trimEnd().split("\n");
    const header = lines.findIndex((line) => line.startsWith("ID"));
    expect(lines[header]!.split(/\s{2,}/)).toEqual(["ID", "NAME", "LEADER", "JOBS", "LAST SEEN", "LAG", "READY", "VAULT"]);
    const rows = lines.slice(header + 1);
    expect(rows).toHaveLength(1);
    // Every job but scheduled backups (off unless `backup.schedule` is set).
    const jobs = CLUSTER_JOBS.filter((job) => job !== "backups").join(",");
    expect(rows[0]!.split(/\s{2,}/)).toEqual([id, "cli-node", "yes", jobs, expect.stringMatching(/^\d+s ago$/), "0", "yes", "unlocked"]);
  });

  it("exits 4 (unauthorized) for a token without admin", async () => {
    const created = await kai(["token", "create", "--scope", "services:read", "--json"]);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const result = await kai(["cluster"], token);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("(forbidden)");
  });
});

describe("kai status", () => {
  it("names the mode, this instance, the leader with since, the live instances and the cache", async () => {
    const result = await kai(["status"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^mode:\s+single$/m);
    expect(result.stdout).toMatch(/^instance:\s+cli-node \(\S+\)$/m);
    expect(result.stdout).toMatch(/^leader:\s+cli-node \(\S+\) since \d{4}-\d\d-\d\dT\S+$/m);
    expect(result.stdout).toMatch(/^instances:\s+1$/m);
    expect(result.stdout).toMatch(/^cache:\s+redis off$/m);
    const json = JSON.parse((await kai(["status", "--json"])).stdout) as { cluster: unknown };
    expect(json.cluster).toMatchObject({ mode: "single", instance: { name: "cli-node" }, instances: 1 });
  });
});
