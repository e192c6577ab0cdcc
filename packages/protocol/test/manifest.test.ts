/**
 * Service manifests (seed 001's `services:` list): what an entry becomes as a registration, and how large a
 * manifest may be. The CLI (`kai services apply`) and the web app's import both plan with these, so what is pinned
 * here is what a file means in either.
 */
import { describe, expect, it } from "vitest";
import { ManifestSchema, manifestEntryToRegistration, manifestFieldPath, planManifest } from "../src/index.js";

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
    const besideTheList = planManifest({ services: [], extra: 1 }, "x.yaml");
    expect(!besideTheList.ok && besideTheList.notAManifest).toBe(true);
    const badEntry = planManifest({ services: [{ id: "ok" }, { id: "bad", url: "not a url" }] }, "x.yaml");
    expect(badEntry.ok).toBe(false);
    expect(!badEntry.ok && badEntry.notAManifest).toBe(false);
    expect(!badEntry.ok && badEntry.problems).toEqual([{ path: "services.1.url", message: "Invalid URL", entry: "bad" }]);
  });

  it("lists every bad entry of a `services:` list, also those the entry's schema refuses (no id, not an object)", () => {
    const plan = planManifest(
      {
        services: [
          { id: "ok" },
          { name: "No id", endpoint: "not a url" },
          "a string",
          { id: 5 },
          { id: "env", auth: { type: "bearer_token", token_env: "1BAD" }, trust_level: "sideways" },
          { id: "typo", endpoint: "also not a url" },
        ],
      },
      "x.yaml",
    );
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    // A manifest with bad entries (exit 6 in the CLI), not "no manifest" (exit 2): one refused entry once hid the rest.
    expect(plan.notAManifest).toBe(false);
    expect(plan.problems.map(({ path, entry }) => [path, entry])).toEqual([
      // The fields beside a refused id are still checked; the name the conversion derives from the id is not blamed.
      ["services.1.id", undefined],
      ["services.1.endpoint", undefined],
      ["services.2", undefined],
      ["services.3.id", undefined],
      ["services.4.auth.token_env", "env"],
      ["services.4.trust_level", "env"],
      ["services.5.endpoint", "typo"],
    ]);
  });

  it("names each problem's field as the manifest spells it, and its entry by id", () => {
    const plan = planManifest(
      {
        services: [
          { id: "seed", endpoint: "nope", trust_level: "sideways", ui: "not a record" },
          { id: "api", url: "nope", trustLevel: "sideways" },
          { id: "a".repeat(300) },
          { id: "seed" },
        ],
      },
      "x.yaml",
    );
    expect(!plan.ok && plan.problems.map(({ path, entry }) => [path, entry?.slice(0, 4)])).toEqual([
      ["services.0.ui", "seed"],
      ["services.0.endpoint", "seed"],
      ["services.0.trust_level", "seed"],
      ["services.1.url", "api"],
      ["services.1.trustLevel", "api"],
      // Too long for an id (128) and for the name the conversion makes of it (200): said once, of the id.
      ["services.2.id", "aaaa"],
      ["services.3.id", "seed"],
    ]);
    expect(!plan.ok && plan.problems[5]?.message).toContain("128");
    expect(!plan.ok && plan.problems[6]?.message).toBe('duplicate id "seed"');
    // A name the entry gives is its own: a problem of it is the name's.
    const named = planManifest({ services: [{ id: "n", name: "b".repeat(201) }] }, "x.yaml");
    expect(!named.ok && named.problems.map((problem) => problem.path)).toEqual(["services.0.name"]);
  });
});

describe("manifestFieldPath", () => {
  it("maps a converted field back to the entry's own name, and leaves every other path alone", () => {
    const seed = { id: "s", endpoint: "x", trust_level: "trusted", auth: { type: "bearer_token", token_env: "KEY" }, ui: { icon: "i" }, type: "llm" };
    expect(manifestFieldPath(seed, "url")).toBe("endpoint");
    expect(manifestFieldPath(seed, "trustLevel")).toBe("trust_level");
    expect(manifestFieldPath(seed, "auth.credentialRef")).toBe("auth.token_env");
    expect(manifestFieldPath(seed, "auth.token")).toBe("auth.token_env");
    expect(manifestFieldPath(seed, "auth.type")).toBe("auth.type");
    expect(manifestFieldPath(seed, "metadata.ui.icon")).toBe("ui.icon");
    expect(manifestFieldPath(seed, "metadata.kind")).toBe("type");
    expect(manifestFieldPath(seed, "metadata.team")).toBe("metadata.team");
    expect(manifestFieldPath(seed, "name")).toBe("id");
    expect(manifestFieldPath(seed, "capabilities.2")).toBe("capabilities.2");
    const ours = { id: "s", name: "S", url: "x", trustLevel: "trusted", type: "agent" };
    expect(manifestFieldPath(ours, "url")).toBe("url");
    expect(manifestFieldPath(ours, "trustLevel")).toBe("trustLevel");
    expect(manifestFieldPath(ours, "name")).toBe("name");
    expect(manifestFieldPath(ours, "metadata.kind")).toBe("metadata.kind");
  });
});
