/**
 * `client.artifacts.gc` against a real node: an admin's dry run and sweep answer the protocol's document (a fresh
 * node has nothing old enough to remove, so both keep the one blob), and anyone else gets a KaiApiError 403.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;

beforeAll(async () => {
  registry = await startRegistry({ rateLimit: { enabled: false } });
  alice = await registry.clientWith(["artifacts:read", "artifacts:write"], "alice");
});
afterAll(async () => {
  await registry?.close();
});

describe("client.artifacts.gc", () => {
  it("runs the garbage collection for an admin, as a dry run or for real", async () => {
    await alice.artifacts.upload(new TextEncoder().encode("kept"), { name: "kept.txt" });
    const nothing = { stagedRemoved: 0, orphansRemoved: 0, bytesFreed: 0, kept: 1 };
    expect(await registry.admin.artifacts.gc({ dryRun: true })).toEqual({ dryRun: true, graceHours: 24, result: nothing });
    expect(await registry.admin.artifacts.gc()).toEqual({ dryRun: false, graceHours: 24, result: nothing });
  });

  it("refuses anyone but an admin", async () => {
    const refused = await alice.artifacts.gc({ dryRun: true }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KaiApiError);
    expect(refused).toMatchObject({ status: 403, code: "forbidden" });
  });
});
