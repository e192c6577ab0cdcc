/**
 * Federation across three real `kai serve` processes on loopback, driven through the CLI: peers added with
 * `kai peer add` (DID shown and pinned), a service registered on one node discovered on the others, a node
 * stopped while things change and restarted (it catches up from its cursor), trust withdrawn (cut off) and
 * a peer removed (its records gone).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { exitOf, freePort, runKai, sandbox, spawnKai, waitForOutput, type Sandbox } from "./helpers.js";

interface Node {
  name: string;
  url: string;
  port: number;
  dataDir: string;
  config: string;
  child: ChildProcessWithoutNullStreams | null;
  token: string;
  did: string;
}

let box: Sandbox;
const nodes: Record<"a" | "b" | "c", Node> = {} as never;

async function start(node: Node): Promise<void> {
  node.child = spawnKai(["serve", "--port", String(node.port), "--data-dir", node.dataDir, "--config", node.config, "--quiet"], { cwd: box.dir, env: box.env });
  await waitForOutput(node.child.stderr, /admin token: .+\n/, 20_000);
  node.token = readFileSync(join(node.dataDir, "admin.token"), "utf8").trim();
  node.did = ((await (await fetch(`${node.url}/.well-known/klp.json`)).json()) as { did: string }).did;
}

async function stop(node: Node): Promise<void> {
  const child = node.child;
  node.child = null;
  if (!child) return;
  child.kill("SIGTERM");
  expect(await exitOf(child)).toBe(0);
}

const kai = (node: Node, args: string[]) => runKai(["--url", node.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: node.token } });

async function register(node: Node, id: string): Promise<void> {
  const response = await fetch(`${node.url}/api/services/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.token}`, "content-type": "application/json" },
    body: JSON.stringify({ id, name: id, capabilities: ["llm_chat"], url: "http://127.0.0.1:9/", visibility: "public" }),
  });
  expect(response.status).toBe(201);
}

const idsOf = (services: ServiceRecord[]) => services.map((s) => `${s.id}@${s.origin === nodes.b.did ? "b" : s.origin === nodes.a.did ? "a" : "?"}`).sort();

async function remoteIds(node: Node): Promise<string[]> {
  const result = await kai(node, ["services", "list", "--location", "remote", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return idsOf((JSON.parse(result.stdout) as { services: ServiceRecord[] }).services);
}

/** The same listing read over HTTP: cheap to poll, where each `kai` run costs a Node start (a second on a busy CI). */
async function remoteIdsOverHttp(node: Node): Promise<string[]> {
  const response = await fetch(`${node.url}/api/services?location=remote`, { headers: { authorization: `Bearer ${node.token}` } });
  expect(response.status).toBe(200);
  return idsOf(((await response.json()) as { services: ServiceRecord[] }).services);
}

/** Waits (over HTTP) until `node` lists `expected` as imported, then checks that `kai services list` says so. */
async function eventually(node: Node, expected: string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (JSON.stringify(await remoteIdsOverHttp(node)) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  expect(await remoteIds(node)).toEqual(expected);
}

beforeAll(async () => {
  box = sandbox();
  for (const name of ["a", "b", "c"] as const) {
    const dataDir = mkdtempSync(join(tmpdir(), `kai-fed-${name}-`));
    const config = join(dataDir, "config.yaml");
    writeFileSync(config, "federation:\n  pullIntervalMs: 300\n  sweepIntervalMs: 200\nrateLimit:\n  enabled: false\n");
    const port = await freePort();
    nodes[name] = { name, url: `http://127.0.0.1:${port}`, port, dataDir, config, child: null, token: "", did: "" };
  }
  await Promise.all(Object.values(nodes).map(start));
}, 60_000);

afterAll(async () => {
  for (const node of Object.values(nodes)) {
    node.child?.kill("SIGKILL");
    rmSync(node.dataDir, { recursive: true, force: true });
  }
  box?.cleanup();
});

describe("three nodes", () => {
  it("kai peer add shows the peer's DID and pins it; a wrong --did is refused (exit 5)", async () => {
    const added = await kai(nodes.a, ["peer", "add", nodes.b.url, "--yes"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain(`identifies as ${nodes.b.did}`);
    const wrong = await kai(nodes.c, ["peer", "add", nodes.b.url, "--did", nodes.a.did]);
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain("peer_identity_mismatch");
    const pinned = await kai(nodes.c, ["peer", "add", nodes.b.url, "--did", nodes.b.did, "--json"]);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(JSON.parse(pinned.stdout)).toMatchObject({ did: nodes.b.did, trusted: true });
    // Without a terminal and without --yes/--did, nothing is pinned blindly.
    const blind = await kai(nodes.b, ["peer", "add", nodes.a.url]);
    expect(blind.code).toBe(2);
  });

  it("a service registered on B is discovered on A and C, with B as origin", async () => {
    await register(nodes.b, "b-one");
    await eventually(nodes.a, ["b-one@b"]);
    await eventually(nodes.c, ["b-one@b"]);
    const list = await kai(nodes.a, ["peer", "list", "--json"]);
    const peers = (JSON.parse(list.stdout) as { peers: { did: string; state: string; importedRecords: number }[] }).peers;
    expect(peers).toEqual([expect.objectContaining({ did: nodes.b.did, state: "connected", importedRecords: 1 })]);
  });

  it("a node stopped while things change catches up after its restart", async () => {
    await stop(nodes.a);
    await register(nodes.b, "b-two");
    const removed = await fetch(`${nodes.b.url}/api/services/b-one`, { method: "DELETE", headers: { authorization: `Bearer ${nodes.b.token}` } });
    expect(removed.status).toBe(204);
    await start(nodes.a);
    await eventually(nodes.a, ["b-two@b"]);
    await eventually(nodes.c, ["b-two@b"]);
  }, 60_000);

  it("an exporter that restarts is reconnected to, and its later changes arrive", async () => {
    await stop(nodes.b);
    await start(nodes.b);
    await register(nodes.b, "b-three");
    await eventually(nodes.a, ["b-three@b", "b-two@b"], 30_000);
  }, 60_000);

  it("withdrawn trust cuts a peer off; kai peer rm removes it and its records", async () => {
    const withdrawn = await kai(nodes.c, ["peer", "trust", nodes.b.did, "--withdraw"]);
    expect(withdrawn.code, withdrawn.stderr).toBe(0);
    expect(await remoteIds(nodes.c)).toEqual([]);
    await register(nodes.b, "b-four");
    await eventually(nodes.a, ["b-four@b", "b-three@b", "b-two@b"]);
    expect(await remoteIds(nodes.c)).toEqual([]);

    const removed = await kai(nodes.a, ["peer", "rm", nodes.b.did]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await remoteIds(nodes.a)).toEqual([]);
    expect(JSON.parse((await kai(nodes.a, ["peer", "list", "--json"])).stdout)).toEqual({ peers: [] });
  }, 60_000);
});
