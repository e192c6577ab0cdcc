// Crash safety of the built server as a real process: registrations stream in (32 in flight), the process is
// killed with SIGKILL mid-stream, and after a restart on the same data dir every registration that was
// answered 201 is there — for both SQLite durability modes. And a graceful stop: SIGTERM while requests are
// in flight lets them finish (201), the process exits 0, and a restart sees them.
import { request as httpRequest } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ListServicesResponse } from "@kai/protocol";
import { spawnServer, type SpawnedServer } from "./support/spawn-server.js";

const dirs: string[] = [];
const running: SpawnedServer[] = [];

function freshDir(synchronous: "full" | "normal"): { dataDir: string; configFile: string } {
  const root = mkdtempSync(join(tmpdir(), "kai-e2e-"));
  dirs.push(root);
  const configFile = join(root, "kai.yaml");
  writeFileSync(configFile, `storage:\n  sqlite:\n    synchronous: ${synchronous}\nrateLimit:\n  enabled: false\nlogging:\n  stdout: false\n`);
  return { dataDir: join(root, "data"), configFile };
}

async function start(dataDir: string, configFile: string, via: "fixture" | "cli" = "fixture"): Promise<SpawnedServer> {
  const server = await spawnServer(dataDir, configFile, via);
  running.push(server);
  return server;
}

afterAll(async () => {
  for (const server of running) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
  await Promise.all(running.map((server) => server.exited));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function register(server: SpawnedServer, id: string): Promise<Response> {
  return fetch(`${server.url}/api/services/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ id, name: `crash ${id}`, type: "service", tags: ["crash"], capabilities: ["llm_chat"], visibility: "public", metadata: { padding: "x".repeat(300) } }),
  });
}

/** Every id in the registry, following cursors; fails on any non-200 page. */
async function allIds(server: SpawnedServer): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  do {
    const query: string = `limit=1000&tag=crash${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await fetch(`${server.url}/api/services?${query}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(response.status).toBe(200);
    const page = (await response.json()) as ListServicesResponse;
    for (const service of page.services) ids.add(service.id);
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

describe.each(["full", "normal"] as const)("kill -9 during writes (synchronous=%s)", (synchronous) => {
  it("loses no acknowledged registration", async () => {
    const { dataDir, configFile } = freshDir(synchronous);
    const first = await start(dataDir, configFile);
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed) {
        const id = `crash-${synchronous}-${next++}`;
        try {
          const response = await register(first, id);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 201) acknowledged.push(id);
        } catch {
          return; // the connection died with the process
        }
      }
    };
    const workers = Array.from({ length: 32 }, () => worker());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.child.kill("SIGKILL");
    killed = true;
    expect((await first.exited).signal).toBe("SIGKILL");
    await Promise.all(workers);

    expect(acknowledged.length, "no registration was acknowledged before the kill").toBeGreaterThan(20);
    expect([...statuses.keys()].filter((status) => status >= 500), JSON.stringify([...statuses])).toEqual([]);

    const second = await start(dataDir, configFile);
    const present = await allIds(second);
    const lost = acknowledged.filter((id) => !present.has(id));
    expect(lost, `${lost.length} of ${acknowledged.length} acknowledged registrations lost`).toEqual([]);
    expect(present.size).toBeGreaterThanOrEqual(acknowledged.length);
    // Each one also reads back on its own, with the record intact.
    for (const id of acknowledged.slice(-20)) {
      const response = await fetch(`${second.url}/api/services/${id}`, { headers: { authorization: `Bearer ${second.adminToken}` } });
      expect(response.status, id).toBe(200);
      expect(((await response.json()) as { name: string }).name).toBe(`crash ${id}`);
    }
    // And the node keeps working on the recovered database.
    expect((await register(second, `after-restart-${synchronous}`)).status).toBe(201);
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  });
});

/** Starts a registration whose body arrives in two halves `gapMs` apart; resolves with the status. */
function slowRegister(server: SpawnedServer, id: string, sent: () => void, gate: Promise<void>): Promise<number> {
  const url = new URL(server.url);
  const body = JSON.stringify({ id, name: `slow ${id}`, visibility: "public", tags: ["crash"] });
  const half = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname, port: url.port, method: "POST", path: "/api/services/register", agent: false,
        headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.write(body.slice(0, half), () => sent());
    void gate.then(() => req.end(body.slice(half)));
  });
}

describe("SIGTERM while requests are in flight", () => {
  it("finishes them, exits 0, and a restart sees them", async () => {
    const { dataDir, configFile } = freshDir("full");
    const server = await start(dataDir, configFile, "cli");
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let halfSent = 0;
    const ids = ["slow-1", "slow-2", "slow-3"];
    const pending = ids.map((id) => slowRegister(server, id, () => halfSent++, gate));
    while (halfSent < ids.length) await new Promise((resolve) => setTimeout(resolve, 10));
    // Let the server read the headers and start on the bodies, then ask it to stop.
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.child.exitCode, "the server exited before its in-flight requests finished").toBeNull();
    release();
    const statuses = await Promise.all(pending);
    expect(statuses).toEqual([201, 201, 201]);
    const exit = await server.exited;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });

    const again = await start(dataDir, configFile, "cli");
    const present = await allIds(again);
    for (const id of ids) expect(present.has(id), id).toBe(true);
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
  });
});
