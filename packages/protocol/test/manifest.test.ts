/**
 * Service manifests (seed 001's `services:` list): what an entry becomes as a registration, and how large a
 * manifest may be. The CLI (`kai services apply`) and the web app's import both plan with these, so what is pinned
 * here is what a file means in either.
 */
import { describe, expect, it } from "vitest";
import { ManifestSchema, manifestEntryToRegistration, planManifest } from "../src/index.js";

describe("manifestEntryToRegistration", () => {
  it("converts the seed's vocabulary and passes every other field through", () => {
    const entry = {
      id: "openai",
      type: "llm",
      endpoint: "https://api.openai.com/v1",
      auth: { type: "bearer_token", token_env: "OPENAI_API_KEY" },
      capabilities: ["chat", "embeddings"],
      trust_level: "trusted",
      ui: { icon: "openai" },
      provider: "openai",
      tags: ["region=eu"],
      metadata: { team: "ml" },
    };
    const registration = manifestEntryToRegistration(entry);
    expect(registration).toEqual({
      id: "openai",
      name: "openai",
      type: "service",
      url: "https://api.openai.com/v1",
      auth: { type: "bearer_token", credentialRef: "env:OPENAI_API_KEY" },
      capabilities: ["llm_chat", "embeddings"],
      trustLevel: "trusted",
      provider: "openai",
      tags: ["region=eu"],
      metadata: { team: "ml", kind: "llm", ui: { icon: "openai" } },
    });
    // The entry's own metadata is copied, not shared: planning tags the registration's, never the document's.
    expect(entry.metadata).toEqual({ team: "ml" });
  });

  it("keeps a known type and the API's own field names, and a name when one is given", () => {
    expect(manifestEntryToRegistration({ id: "a", name: "Agent A", type: "agent", url: "http://127.0.0.1:9", trustLevel: "verified" })).toEqual({
      id: "a",
      name: "Agent A",
      type: "agent",
      url: "http://127.0.0.1:9",
      trustLevel: "verified",
    });
  });

  it("leaves out what the entry does not say (no empty metadata, no url)", () => {
    expect(manifestEntryToRegistration({ id: "bare" })).toEqual({ id: "bare", name: "bare" });
  });
});

describe("manifest size", () => {
  const entries = (count: number) => Array.from({ length: count }, (_, index) => ({ id: `s-${index}` }));

  it("plans a manifest of 100,000 services (issue 19: `kai services apply` at that size)", () => {
    const plan = planManifest({ services: entries(100_000) }, "big.json");
    expect(plan.ok && plan.services.length).toBe(100_000);
    expect(plan.ok && plan.services[99_999]?.input.metadata).toEqual({ appliedFrom: "big.json" });
  });

  it("refuses a manifest beyond 200,000 services as not a manifest it takes, by the list's path", () => {
    const result = ManifestSchema.safeParse({ services: entries(200_001) });
    expect(result.success).toBe(false);
    const plan = planManifest({ services: entries(200_001) }, "huge.json");
    expect(plan.ok).toBe(false);
    expect(!plan.ok && plan.notAManifest).toBe(true);
    expect(!plan.ok && plan.problems[0]?.path).toBe("services");
  });

  it("tells a document that is no manifest from a manifest with bad entries", () => {
    const notAManifest = planManifest({ items: [] }, "x.yaml");
    expect(!notAManifest.ok && notAManifest.notAManifest).toBe(true);
    // Entries that are not manifest entries at all make it no manifest, each named by its place in the file.
    const notEntries = planManifest({ services: [{ id: "ok" }, "a string", { id: 5 }] }, "x.yaml");
    expect(!notEntries.ok && notEntries.notAManifest).toBe(true);
    expect(!notEntries.ok && notEntries.problems.map((problem) => problem.path)).toEqual(["services.1", "services.2.id"]);
    const badEntry = planManifest({ services: [{ id: "ok" }, { id: "bad", url: "not a url" }] }, "x.yaml");
    expect(badEntry.ok).toBe(false);
    expect(!badEntry.ok && badEntry.notAManifest).toBe(false);
    expect(!badEntry.ok && badEntry.problems.map((problem) => problem.path)).toEqual(["services.1.url"]);
  });
});
