/**
 * `kai services …` end to end: the built CLI against a real server, checking output and exit codes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_STATUSES, SERVICE_TYPES } from "@kai/protocol";
import { freePort, runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let kai: (args: string[], extra?: { env?: NodeJS.ProcessEnv; input?: string }) => ReturnType<typeof runKai>;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  kai = (args, extra = {}) =>
    runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken, ...extra.env }, ...(extra.input !== undefined ? { input: extra.input } : {}) });
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

function writeFile(name: string, content: string): string {
  const path = join(box.dir, name);
  writeFileSync(path, content);
  return path;
}

const chatService = `
id: chat-1
name: Chat One
type: service
provider: openai
capabilities: [llm_chat, embeddings]
tags: [prod, eu]
url: https://api.example.com/v1
visibility: public
ttl: 60
`;

describe("kai services", () => {
  it("registers from YAML, then re-registers the same id as an update", async () => {
    const file = writeFile("chat.yaml", chatService);
    const first = await kai(["services", "register", "-f", file]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created chat-1 \(revision \d+\)$/m);
    const again = await kai(["services", "register", "-f", file, "--json"]);
    expect(again.code).toBe(0);
    const body = JSON.parse(again.stdout) as { created: boolean; service: { id: string; capabilities: string[] } };
    expect(body.created).toBe(false);
    expect(body.service.capabilities).toEqual(["llm_chat", "embeddings"]);
  });

  it("registers from JSON on stdin", async () => {
    const result = await kai(["services", "register", "-f", "-"], { input: JSON.stringify({ id: "tool-1", name: "Tool One", type: "tool", tags: ["dev"] }) });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("created tool-1");
  });

  it("lists services as a table with the documented columns", async () => {
    const result = await kai(["services", "list"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+TYPE\s+STATUS\s+HEALTH\s+CAPABILITIES\s+TAGS\s+OWNER$/);
    const chat = lines.find((line) => line.startsWith("chat-1 "));
    expect(chat?.split(/\s{2,}/)).toEqual(["chat-1", "Chat One", "service", "active", "unknown", "llm_chat,embeddings", "prod,eu", expect.any(String)]);
    expect(lines.some((line) => line.startsWith("tool-1 "))).toBe(true);
  });

  it("filters, and answers JSON with --json", async () => {
    const result = await kai(["services", "list", "--json", "--capability", "llm_chat", "--tag", "prod", "--tag", "eu"]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { services: { id: string }[]; revision: number; nextCursor: string | null };
    expect(body.services.map((service) => service.id)).toEqual(["chat-1"]);
    expect(body.revision).toBeGreaterThan(0);
    const none = await kai(["services", "list", "--json", "--tag", "prod", "--tag", "dev"]);
    expect((JSON.parse(none.stdout) as { services: unknown[] }).services).toEqual([]);
    // A manifest's shorthand finds what it was stored as (`chat` is `llm_chat`).
    const shorthand = await kai(["services", "list", "--json", "--capability", "chat", "--tag", "prod"]);
    expect((JSON.parse(shorthand.stdout) as { services: { id: string }[] }).services.map((service) => service.id)).toEqual(["chat-1"]);
    const text = await kai(["services", "list", "--json", "-q", "tool one"]);
    expect((JSON.parse(text.stdout) as { services: { id: string }[] }).services.map((service) => service.id)).toEqual(["tool-1"]);
  });

  it("pages with --limit and follows cursors with --all", async () => {
    const page = await kai(["services", "list", "--json", "--limit", "1"]);
    const body = JSON.parse(page.stdout) as { services: unknown[]; nextCursor: string | null };
    expect(body.services).toHaveLength(1);
    expect(body.nextCursor).not.toBeNull();
    const all = await kai(["services", "list", "--json", "--limit", "1", "--all"]);
    expect(all.code).toBe(0);
    expect((JSON.parse(all.stdout) as { services: { id: string }[] }).services.map((service) => service.id).sort()).toEqual(["chat-1", "tool-1"]);
  });

  it("sorts on the node with --sort and --desc, page after page", async () => {
    const names = async (args: string[]) => {
      const result = await kai(["services", "list", "--json", "--all", "--limit", "1", ...args]);
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { services: { name: string }[] }).services.map((service) => service.name);
    };
    expect(await names(["--sort", "name"])).toEqual(["Chat One", "Tool One"]);
    expect(await names(["--sort", "name", "--desc"])).toEqual(["Tool One", "Chat One"]);
    const bad = await kai(["services", "list", "--sort", "colour"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("name");
  });

  it("gets one service (human and JSON)", async () => {
    const human = await kai(["services", "get", "chat-1"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^capabilities:\s+llm_chat,embeddings$/m);
    expect(human.stdout).toMatch(/^ttl:\s+60s$/m);
    const json = await kai(["services", "get", "chat-1", "--json"]);
    expect((JSON.parse(json.stdout) as { id: string; provider: string }).provider).toBe("openai");
  });

  it("sends heartbeats, with a status and note", async () => {
    const plain = await kai(["services", "heartbeat", "chat-1"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^chat-1 active until \d{4}-/);
    const degraded = await kai(["services", "heartbeat", "chat-1", "--status", "degraded", "--note", "slow upstream", "--json"]);
    expect(degraded.code).toBe(0);
    expect((JSON.parse(degraded.stdout) as { status: string }).status).toBe("degraded");
    const record = JSON.parse((await kai(["services", "get", "chat-1", "--json"])).stdout) as { status: string; statusNote?: string };
    expect(record.status).toBe("degraded");
  });

  it("removes a service; it is then not found (exit 3)", async () => {
    const removed = await kai(["services", "rm", "tool-1"]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain("removed tool-1");
    const missing = await kai(["services", "get", "tool-1"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^error: .+ \(not_found\)$/m);
    expect(missing.stdout).toBe("");
    const again = await kai(["services", "rm", "tool-1", "--json"]);
    expect(again.code).toBe(3);
    const errorLine = again.stderr.trimEnd().split("\n").pop() ?? "";
    expect((JSON.parse(errorLine) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("refuses an invalid registration with the failing fields (exit 6)", async () => {
    const file = writeFile("bad.yaml", "id: bad-1\nname: Bad\ntype: spaceship\nauth:\n  type: bearer_token\n  apiKey: sk-live-123\n");
    const result = await kai(["services", "register", "-f", file]);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain("(validation_failed)");
    expect(result.stderr).toMatch(/- type: /);
    expect(result.stderr).toMatch(/- auth\.apiKey: raw credentials/);
    expect(result.stderr).not.toContain("sk-live-123");
  });

  it("exits 6 when the server refuses the input", async () => {
    // The CLI checks most input locally first; a cursor the server never issued only the server can refuse.
    const result = await kai(["services", "list", "--cursor", "not-a-real-cursor"]);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain("(validation_failed)");
  });

  it("reports usage errors with exit 2", async () => {
    const missing = await kai(["services", "register"]); // -f missing
    expect(missing.code).toBe(2);
    // Commander's refusals read like the CLI's own, and --json adds the error body a script reads.
    expect(missing.stderr).toContain("error: required option '-f, --file <file>' not specified (usage)");
    const missingJson = await kai(["services", "apply", "--json"]);
    expect(missingJson.code).toBe(2);
    expect(JSON.parse(missingJson.stderr.trimEnd().split("\n").at(-1)!)).toEqual({ error: { code: "usage", message: "required option '-f, --file <file>' not specified" } });
    expect((await kai(["services", "register", "-f", join(box.dir, "nope.yaml")])).code).toBe(2);
    const broken = writeFile("broken.yaml", "id: [unclosed\n");
    const yaml = await kai(["services", "register", "-f", broken]);
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toContain("not valid YAML");
    expect((await kai(["services", "list", "--limit", "zero"])).code).toBe(2);
    const status = await kai(["services", "list", "--status", "active,sleeping"]);
    expect(status.code).toBe(2);
    // A bad value names the allowed ones (the schema alone said only "Invalid input").
    expect(status.stderr).toContain(`--status: "sleeping" is not one of ${SERVICE_STATUSES.join(", ")}`);
    expect((await kai(["services", "list", "--type", "robot"])).stderr).toContain(`--type: "robot" is not one of ${SERVICE_TYPES.join(", ")}`);
    expect((await kai(["services", "list", "--visibility", "secret"])).stderr).toContain(`--visibility: "secret" is not one of public, internal, private`);
    expect((await kai(["services", "list", "--location", "moon"])).stderr).toContain(`--location: "moon" is not one of local, remote, all`);
    expect((await kai(["services", "heartbeat", "chat-1", "--status", "offline"])).code).toBe(2);
    expect((await kai(["services", "frobnicate"])).code).toBe(2);
    expect((await runKai(["services", "list", "--url", "not a url"], { cwd: box.dir, env: box.env })).code).toBe(2);
  });

  it("exits 4 for a bad token and for no token at all", async () => {
    const bad = await kai(["services", "list"], { env: { KAI_TOKEN: "not.a.jwt" } });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain("(unauthorized)");
    const none = await runKai(["services", "list", "--url", server.url], { cwd: box.dir, env: box.env });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain("no token");
  });

  it("exits 5 when another owner holds the id", async () => {
    const created = await kai(["token", "create", "--scope", "services:write,services:read", "--owner", "mallory"]);
    expect(created.code).toBe(0);
    const file = writeFile("steal.yaml", "id: chat-1\nname: Mine now\n");
    const result = await kai(["services", "register", "-f", file], { env: { KAI_TOKEN: created.stdout.trim() } });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain("(conflict)");
  });

  it("exits 7 when the server cannot be reached", async () => {
    const result = await runKai(["services", "list", "--url", "http://127.0.0.1:9"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: "x" } });
    expect(result.code).toBe(7);
    expect(result.stderr).toContain("(unreachable)");
    // A port nothing listens on (fetch refuses port 9 outright): one sentence naming the URL, not Node's
    // "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:<port>".
    const url = `http://127.0.0.1:${await freePort()}`;
    const refused = await runKai(["services", "list", "--url", url], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: "x" } });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain(`cannot reach ${url}: the connection was refused (ECONNREFUSED); is the server running?`);
    expect(refused.stderr.match(/ECONNREFUSED/g)).toHaveLength(1);
  });
});
