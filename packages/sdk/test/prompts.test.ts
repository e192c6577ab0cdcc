/**
 * `client.prompts` against a real node: save versions, read by label, history, diff, restore, search, render, delete,
 * the API's refusals as KaiApiErrors (422 prompt_variables_invalid, 404 for an unknown label), and `cached`: fresh
 * from memory, a 404 never hidden, and the last version served stale (with its age) when the node is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;
let closed = false;

beforeAll(async () => {
  registry = await startRegistry({ rateLimit: { enabled: false } });
  alice = await registry.clientWith(["prompts:read", "prompts:write"], "alice");
});
afterAll(async () => {
  if (!closed) await registry?.close();
});

describe("client.prompts", () => {
  it("saves versions, labels, diffs, restores, searches and renders", async () => {
    const first = await alice.prompts.save("sdk-greet", { template: "Hello {{name}}", variables: [{ name: "name" }], tags: ["sdk"] });
    expect(first.version.version).toBe(1);
    await alice.prompts.save("sdk-greet", { template: "Hi {{name}}", variables: [{ name: "name" }] });
    expect((await alice.prompts.setLabel("sdk-greet", "production", 1)).labels).toEqual({ latest: 2, production: 1 });
    expect((await alice.prompts.get("sdk-greet", { label: "production" })).version.template).toBe("Hello {{name}}");
    expect((await alice.prompts.versions("sdk-greet")).versions.map((version) => version.version)).toEqual([2, 1]);
    expect((await alice.prompts.diff("sdk-greet", 1, 2)).template).toEqual([
      { op: "-", text: "Hello {{name}}" },
      { op: "+", text: "Hi {{name}}" },
    ]);
    expect((await alice.prompts.restore("sdk-greet", 1)).version).toMatchObject({ version: 3, restoredFrom: 1 });
    expect((await alice.prompts.list({ q: "hello" })).prompts.map((prompt) => prompt.name)).toEqual(["sdk-greet"]);
    expect(await alice.prompts.render("sdk-greet", { label: "production", variables: { name: "Ada" } })).toMatchObject({ version: 1, text: "Hello Ada" });

    const missing = await alice.prompts.render("sdk-greet", {}).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(KaiApiError);
    expect((missing as KaiApiError).code).toBe("prompt_variables_invalid");
    const unknownLabel = await alice.prompts.get("sdk-greet", { label: "canary" }).catch((error: unknown) => error);
    expect((unknownLabel as KaiApiError).status).toBe(404);
  });

  it("caches reads, never hides a 404, and serves the last version stale with its age when the node is gone", async () => {
    await alice.prompts.save("sdk-cached", { template: "cached one" });
    await alice.prompts.save("sdk-gone", { template: "soon gone" });
    expect(await alice.prompts.cached("sdk-cached", { ttlMs: 60_000 })).toMatchObject({ stale: false, ageMs: 0, version: { version: 1 } });
    await alice.prompts.save("sdk-cached", { template: "cached two" });
    // Within the TTL: the cached version, not the new one.
    expect((await alice.prompts.cached("sdk-cached", { ttlMs: 60_000 })).version.version).toBe(1);
    // TTL 0: always fetched.
    expect((await alice.prompts.cached("sdk-cached", { ttlMs: 0 })).version.version).toBe(2);

    await alice.prompts.cached("sdk-gone", { ttlMs: 0 });
    await alice.prompts.delete("sdk-gone");
    const gone = await alice.prompts.cached("sdk-gone", { ttlMs: 0 }).catch((error: unknown) => error);
    expect((gone as KaiApiError).status).toBe(404);

    await registry.close();
    closed = true;
    const stale = await alice.prompts.cached("sdk-cached", { ttlMs: 0 });
    expect(stale).toMatchObject({ stale: true, version: { version: 2, template: "cached two" } });
    expect(stale.ageMs).toBeGreaterThanOrEqual(0);
  });
});
