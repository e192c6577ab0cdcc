/**
 * `kai services apply`: a seed-001 manifest (token_env, `chat`, `type: llm`) applied, re-applied
 * (unchanged / updated) and pruned, against a real server.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let manifest: string;

const kai = (args: string[], token = server.adminToken) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: token } });

const seedManifest = (qdrantName: string, withQdrant = true) => `
services:
  - id: openai
    name: OpenAI Chat
    type: llm
    provider: openai
    endpoint: https://api.openai.com/v1
    auth:
      type: bearer_token
      token_env: OPENAI_API_KEY
    capabilities:
      - chat
      - embeddings
    ui:
      icon: openai.svg
      color: '#10a37f'
    trust_level: trusted
    version: "1.8.0"
${
  withQdrant
    ? `  - id: local-qdrant
    name: ${qdrantName}
    type: vector_store
    provider: qdrant
    endpoint: http://localhost:6333
    auth:
      type: none
    capabilities:
      - vector_storage
      - similarity_search
    trust_level: system
`
    : ""
}`;

type ApplyOutput = { dryRun: boolean; results: { id: string; action: string }[] };
const actions = (stdout: string) => Object.fromEntries((JSON.parse(stdout) as ApplyOutput).results.map((result) => [result.id, result.action]));

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  manifest = join(box.dir, "services.yaml");
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai services apply", () => {
  it("creates every service of a seed-style manifest, translating the seed's vocabulary", async () => {
    writeFileSync(manifest, seedManifest("Local Vector DB"));
    const result = await kai(["services", "apply", "-f", manifest]);
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split("\n")).toEqual(["created   openai", "created   local-qdrant"]);
    const openai = JSON.parse((await kai(["services", "get", "openai", "--json"])).stdout) as Record<string, unknown>;
    expect(openai).toMatchObject({
      capabilities: ["llm_chat", "embeddings"],
      auth: { type: "bearer_token", credentialRef: "env:OPENAI_API_KEY" },
      url: "https://api.openai.com/v1",
      trustLevel: "trusted",
      type: "service",
      metadata: { kind: "llm", appliedFrom: "services.yaml", ui: { icon: "openai.svg", color: "#10a37f" } },
    });
  });

  it("leaves unchanged services alone and updates changed ones", async () => {
    const same = await kai(["services", "apply", "-f", manifest, "--json"]);
    expect(same.code).toBe(0);
    expect(actions(same.stdout)).toEqual({ openai: "unchanged", "local-qdrant": "unchanged" });
    const before = JSON.parse((await kai(["services", "get", "openai", "--json"])).stdout) as { revision: number };

    writeFileSync(manifest, seedManifest("Vector DB (renamed)"));
    const changed = await kai(["services", "apply", "-f", manifest, "--json"]);
    expect(changed.code).toBe(0);
    expect(actions(changed.stdout)).toEqual({ openai: "unchanged", "local-qdrant": "updated" });
    const after = JSON.parse((await kai(["services", "get", "openai", "--json"])).stdout) as { revision: number };
    expect(after.revision).toBe(before.revision);
    expect((JSON.parse((await kai(["services", "get", "local-qdrant", "--json"])).stdout) as { name: string }).name).toBe("Vector DB (renamed)");
  });

  it("--dry-run reports without changing, --prune removes services dropped from the file", async () => {
    // A service registered by hand (not from this file) must survive the prune.
    const manual = await runKai(["--url", server.url, "services", "register", "-f", "-"], {
      cwd: box.dir,
      env: { ...box.env, KAI_TOKEN: server.adminToken },
      input: JSON.stringify({ id: "by-hand", name: "By hand" }),
    });
    expect(manual.code).toBe(0);
    writeFileSync(manifest, seedManifest("Vector DB (renamed)", false));

    const dry = await kai(["services", "apply", "-f", manifest, "--prune", "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true });
    expect(actions(dry.stdout)).toEqual({ openai: "unchanged", "local-qdrant": "pruned" });
    // For people, a dry run says what it would do.
    const said = await kai(["services", "apply", "-f", manifest, "--prune", "--dry-run"]);
    expect(said.code).toBe(0);
    expect(said.stdout).toContain("would prune  local-qdrant");
    expect(said.stdout).toContain("unchanged    openai");
    expect(said.stderr).toContain("1 would prune");
    expect((await kai(["services", "get", "local-qdrant"])).code).toBe(0);

    const pruned = await kai(["services", "apply", "-f", manifest, "--prune"]);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain("pruned    local-qdrant");
    expect((await kai(["services", "get", "local-qdrant"])).code).toBe(3);
    expect((await kai(["services", "get", "by-hand"])).code).toBe(0);
    expect((await kai(["services", "get", "openai"])).code).toBe(0);
  });

  it("checks the whole manifest before writing anything", async () => {
    const bad = join(box.dir, "bad.yaml");
    writeFileSync(bad, "services:\n  - id: good-one\n    name: Fine\n  - id: bad-one\n    endpoint: not a url\n    auth:\n      type: magic\n");
    const result = await kai(["services", "apply", "-f", bad]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/- services\.1 \(bad-one\)\.endpoint: /);
    expect(result.stderr).toMatch(/- services\.1 \(bad-one\)\.auth\.type: /);
    expect((await kai(["services", "get", "good-one"])).code).toBe(3);
  });

  it("refuses a file that is not a manifest (exit 2)", async () => {
    const notManifest = join(box.dir, "other.yaml");
    writeFileSync(notManifest, "id: x\nname: y\n");
    const result = await kai(["services", "apply", "-f", notManifest]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("not a service manifest");
  });

  it("a manifest from stdin or a descriptor (<(…)) needs --name, which is what the services are tagged with and --prune matches", async () => {
    const piped = "services:\n  - id: piped-a\n    name: A\n  - id: piped-b\n    name: B\n";
    const fromStdin = (args: string[]) =>
      runKai(["--url", server.url, "services", "apply", ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken }, input: piped });
    for (const file of ["-", "/dev/fd/0", "/dev/stdin", "/proc/self/fd/0"]) {
      const refused = await fromStdin(["-f", file]);
      expect(refused.code, file).toBe(2);
      expect(refused.stderr).toContain("--name <name>");
    }
    expect((await kai(["services", "get", "piped-a"])).code).toBe(3);
    const blank = await fromStdin(["-f", "-", "--name", " "]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain("--name must be");

    const applied = await fromStdin(["-f", "-", "--name", "team.yaml"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trimEnd().split("\n")).toEqual(["created   piped-a", "created   piped-b"]);
    const record = JSON.parse((await kai(["services", "get", "piped-a", "--json"])).stdout) as { metadata: Record<string, unknown> };
    expect(record.metadata.appliedFrom).toBe("team.yaml");
    // The same services from a file of that name: unchanged, and --prune finds the one the file no longer has.
    const team = join(box.dir, "team.yaml");
    writeFileSync(team, "services:\n  - id: piped-a\n    name: A\n");
    const pruned = await kai(["services", "apply", "-f", team, "--prune"]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout.trimEnd().split("\n")).toEqual(["unchanged piped-a", "pruned    piped-b"]);
  });
});
