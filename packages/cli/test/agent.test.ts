/**
 * `kai agent` end to end with the built CLI against a real node (each step spawns the CLI: room for a busy machine): a new key (mode 600, never overwritten), a YAML
 * manifest signed with it and registered (did and issuedAt filled in), listed, shown, in the status, removed; a
 * manifest naming another key's DID and an invalid one are refused before anything is sent.
 */
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

const MANIFEST = `id: kExecutor:webscraper
name: Web scraper
skills:
  - id: scrape
    name: Scrape a page
    capability: web_scrape
endpoint:
  transport: http
  url: http://127.0.0.1:9/step
ttl: 60
`;

beforeAll(async () => {
  server = await startTestServer();
  box = sandbox();
  writeFileSync(join(box.dir, "agent.yaml"), MANIFEST);
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai agent", () => {
  let did = "";

  it("keygen writes a key only its owner can read, prints its DID, and never overwrites a key", async () => {
    const result = await kai(["agent", "keygen", "--out", "agent.key"]);
    expect(result.code, result.stderr).toBe(0);
    did = result.stdout.trim();
    expect(did).toMatch(/^kind:did:[A-Za-z0-9_-]{43}#ed25519$/);
    expect(statSync(join(box.dir, "agent.key")).mode & 0o777).toBe(0o600);
    const again = await kai(["agent", "keygen", "--out", "agent.key"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("exists already");
  });

  it("register signs the manifest with the key and registers it; list, show and status show it", async () => {
    const registered = await kai(["agent", "register", "agent.yaml", "--key", "agent.key"]);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stderr).toContain(`registered agent kExecutor:webscraper (${did})`);

    const list = await kai(["agent", "list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/kExecutor:webscraper\s+Web scraper\s+active\s+http\s+web_scrape/);

    const show = await kai(["agent", "show", "kExecutor:webscraper", "--json"]);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: "kExecutor:webscraper", type: "agent", metadata: { agent: { did, source: "manifest" } } });

    const status = await kai(["agent", "status"]);
    expect(status.stdout).toMatch(/kExecutor:webscraper\s+active\s+http\s+0\/4/);
  }, 60_000);

  it("refuses a manifest naming another key's DID, and an invalid manifest, before sending anything", async () => {
    writeFileSync(join(box.dir, "other.yaml"), `${MANIFEST.replace("kExecutor:webscraper", "kExecutor:other")}did: "kind:did:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo#ed25519"\n`);
    const other = await kai(["agent", "register", "other.yaml", "--key", "agent.key"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("but the key is");
    writeFileSync(join(box.dir, "bad.yaml"), MANIFEST.replace("kExecutor:webscraper", "not-an-agent"));
    const bad = await kai(["agent", "register", "bad.yaml", "--key", "agent.key"]);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain("id:");
    expect(JSON.parse((await kai(["agent", "list", "--json"])).stdout).agents).toHaveLength(1);
  }, 60_000);

  it("rm removes the agent", async () => {
    const removed = await kai(["agent", "rm", "kExecutor:webscraper"]);
    expect(removed.code, removed.stderr).toBe(0);
    const show = await kai(["agent", "show", "kExecutor:webscraper"]);
    expect(show.code).toBe(3);
  });
});
