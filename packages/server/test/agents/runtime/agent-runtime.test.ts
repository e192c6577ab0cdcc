/**
 * Agents the node runs itself (agents/runtime/), through a real node: each run-agent is a real child process, a
 * KLP agent built with the SDK's agent runtime (`run-agent-child.ts`), given only the node's URL, its own token and
 * its id. One configured with `autostart` is started with the node, registers under its own owner with a token of
 * two scopes and runs a task's step; SIGKILLed (a crash), it is started again with a fresh token (the old one
 * revoked) and works again; stopped, it is not started again. One with `autostart: false` waits for `start`
 * (by its owner through the SDK), and gets its environment from a vault secret. The node stops them when it stops.
 * Also: `metadata.agent` of an agent record cannot be changed through the services API (`reserved_metadata_key`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentRunStateSchema, TaskSchema, TERMINAL_TASK_STATES, type AgentRunState, type CreateTaskRequestInput, type Task, type TokenInfo } from "@kai/protocol";
import { createClient } from "@kai/sdk";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";

const CHILD = fileURLToPath(new URL("./run-agent-child.ts", import.meta.url));
const TSCONFIG = fileURLToPath(new URL("../../../../../tsconfig.test.json", import.meta.url));
const TSX = pathToFileURL(fileURLToPath(new URL("../../../../../node_modules/tsx/dist/loader.mjs", import.meta.url))).href;
const AUTO = "kExecutor:auto";
const MANUAL = "kExecutor:manual";
const GREETING = "greeting from the vault 7f3a";

let server: TestServer;
let alice: string;
const dirs: string[] = [];

/** A working directory for one agent: its key file goes there, and tsx finds the tests' tsconfig through it. */
function agentDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kai-run-agent-"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: TSCONFIG }));
  dirs.push(dir);
  return dir;
}

async function runState(id: string): Promise<AgentRunState> {
  const response = await server.request(`/api/agents/${id}/run`);
  expect(response.status).toBe(200);
  return AgentRunStateSchema.parse(await response.json());
}

async function runTask(body: CreateTaskRequestInput): Promise<Task> {
  const response = await server.request("/api/agent/task", { method: "POST", json: body });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  const id = TaskSchema.parse((JSON.parse(text) as { task: unknown }).task).id;
  return eventually(async () => {
    const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${id}`)).json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 20_000);
}

async function runTokens(id: string): Promise<TokenInfo[]> {
  const { tokens } = (await (await server.request("/api/tokens")).json()) as { tokens: TokenInfo[] };
  return tokens.filter((token) => token.name === `run-agent ${id}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  const spec = (id: string, skills: string[]) => ({ id, command: process.execPath, args: ["--import", TSX, CHILD, ...skills], cwd: agentDir(), backoffMs: 50, maxRestarts: 3, stopGraceMs: 5000 });
  server = await startTestServer({
    config: {
      rateLimit: { enabled: false },
      agents: { run: [spec(AUTO, ["run_echo"]), { ...spec(MANUAL, ["manual_echo"]), autostart: false, owner: "alice", env: { AGENT_GREETING: "agents/greeting" } }] },
    },
  });
  alice = await mintToken(server, ["agents:read", "agents:write"], "alice");
}, 30_000);

afterAll(async () => {
  await server?.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("agents the node runs", () => {
  it("starts an autostart agent with the node; it registers with its own narrow token and runs a step", async () => {
    const record = await eventually(async () => {
      const response = await server.request(`/api/agents/${AUTO}`);
      const body = (await response.json()) as { status?: string; owner?: string };
      return response.ok && body.status === "active" ? body : undefined;
    }, 30_000);
    expect(record).toMatchObject({ type: "agent", owner: `run:${AUTO}`, metadata: { agent: { transport: "klp" } } });
    const state = await runState(AUTO);
    expect(state).toMatchObject({ state: "running", restarts: 0, source: "config", autostart: true });
    const { agents } = (await (await server.request("/api/agent/status")).json()) as { agents: Array<{ id: string; run?: AgentRunState }> };
    expect(agents.find((agent) => agent.id === AUTO)?.run).toMatchObject({ state: "running", pid: state.pid });
    const tokens = await runTokens(AUTO);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ owner: `run:${AUTO}`, scopes: ["agents:write", "services:heartbeat"], revokedAt: null });

    const task = await runTask({ goal: "echo", agent: AUTO, capability: "run_echo", input: { n: 1 } });
    expect(task.state, JSON.stringify(task.steps)).toBe("completed");
    expect(Object.values(task.result as object)[0]).toMatchObject({ by: AUTO, pid: state.pid, input: { n: 1 } });
    // Its output is in the node's log under its id; the node's own environment was not passed on.
    const ready = server.logs.map((line) => JSON.parse(line) as { agent?: string; line?: string }).find((entry) => entry.agent === AUTO && entry.line?.includes('"event":"ready"'));
    expect(ready).toBeDefined();
    const envKeys = (JSON.parse(ready!.line!) as { envKeys: string[] }).envKeys;
    expect(envKeys).toEqual(expect.arrayContaining(["KAI_AGENT_ID", "KAI_TOKEN", "KAI_URL", "PATH"]));
    expect(envKeys.filter((key) => !["HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "PATH", "KAI_AGENT_ID", "KAI_TOKEN", "KAI_URL"].includes(key))).toEqual([]);
  });

  it("starts a crashed agent again with a fresh token, and it works again", async () => {
    const before = await runState(AUTO);
    const [oldToken] = await runTokens(AUTO);
    process.kill(before.pid!, "SIGKILL");
    const after = await eventually(async () => {
      const state = await runState(AUTO);
      return state.state === "running" && state.pid !== null && state.pid !== before.pid ? state : undefined;
    }, 15_000);
    expect(after).toMatchObject({ restarts: 1, lastExit: { code: null, signal: "SIGKILL" } });
    const tokens = await runTokens(AUTO);
    expect(tokens.find((token) => token.id === oldToken!.id)?.revokedAt).not.toBeNull();
    expect(tokens.filter((token) => token.revokedAt === null)).toHaveLength(1);
    // Registered again by the new process (a step goes to it).
    const task = await eventually(async () => {
      const done = await runTask({ goal: "echo again", agent: AUTO, capability: "run_echo", input: { n: 2 } });
      return done.state === "completed" ? done : undefined;
    }, 20_000);
    expect(Object.values(task.result as object)[0]).toMatchObject({ by: AUTO, pid: after.pid });
  });

  it("stops an agent (SIGTERM) and does not start it again; its record goes offline and its token is revoked", async () => {
    const running = await runState(AUTO);
    const response = await server.request(`/api/agents/${AUTO}/stop`, { method: "POST" });
    expect(response.status).toBe(200);
    const stopped = AgentRunStateSchema.parse(await response.json());
    expect(stopped).toMatchObject({ state: "stopped", pid: null, lastExit: { code: 0 } });
    expect(alive(running.pid!)).toBe(false);
    expect((await runTokens(AUTO)).every((token) => token.revokedAt !== null)).toBe(true);
    const record = (await (await server.request(`/api/agents/${AUTO}`)).json()) as { status: string };
    expect(record.status).toBe("offline");
    // Several backoffs' worth of time: a stopped agent is not started again.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await runState(AUTO)).toMatchObject({ state: "stopped", pid: null });
  });

  it("waits for start when autostart is false; its owner starts it through the SDK; env comes from the vault", async () => {
    expect(await runState(MANUAL)).toMatchObject({ state: "stopped", pid: null, lastExit: null });
    expect((await server.request(`/api/agents/${MANUAL}`)).status).toBe(404);
    const put = await server.request("/api/vault/secrets/agents/greeting", { method: "PUT", json: { value: GREETING } });
    expect(put.ok, await put.text()).toBe(true);

    const asAlice = createClient({ url: server.url, token: alice });
    expect((await asAlice.agents.runs()).map((run) => run.id)).toEqual([MANUAL]);
    const started = await asAlice.agents.start(MANUAL);
    expect(started).toMatchObject({ id: MANUAL, state: "running", source: "config" });
    await eventually(async () => ((await (await server.request(`/api/agents/${MANUAL}`)).json()) as { status?: string }).status === "active", 30_000);
    const task = await runTask({ goal: "greet", agent: MANUAL, capability: "manual_echo", input: {} });
    expect(Object.values(task.result as object)[0]).toMatchObject({ by: MANUAL, greeting: GREETING });
    // The secret's value reached the process, never the node's log.
    expect(server.logs.some((line) => line.includes(GREETING))).toBe(false);
    expect(await asAlice.agents.stop(MANUAL)).toMatchObject({ state: "stopped" });
  });

  it("lets only admins and a run-agent's owner see, start and stop it; only admins add one", async () => {
    const bob = await mintToken(server, ["agents:read", "agents:write"], "bob");
    expect((await server.request(`/api/agents/${AUTO}/start`, { method: "POST", token: bob })).status).toBe(404);
    expect((await server.request(`/api/agents/${MANUAL}/run`, { token: bob })).status).toBe(404);
    expect(((await (await server.request("/api/agents/run", { token: bob })).json()) as { agents: unknown[] }).agents).toEqual([]);
    const add = { id: "kExecutor:added", command: process.execPath, args: ["--version"], autostart: false };
    expect((await server.request("/api/agents/run", { method: "POST", json: add, token: alice })).status).toBe(403);
    const added = await server.request("/api/agents/run", { method: "POST", json: add });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ id: "kExecutor:added", state: "stopped", source: "api" });
    expect((await server.request("/api/agents/run", { method: "POST", json: add })).status).toBe(409);
  });

  it("gives up after maxRestarts failures in a row (crashed), and says why a command could not be spawned", async () => {
    const failing = { id: "kExecutor:failing", command: process.execPath, args: ["-e", "process.exit(3)"], backoffMs: 20, maxRestarts: 2 };
    expect((await server.request("/api/agents/run", { method: "POST", json: failing })).status).toBe(201);
    const crashed = await eventually(async () => {
      const state = await runState(failing.id);
      return state.state === "crashed" ? state : undefined;
    }, 15_000);
    expect(crashed).toMatchObject({ restarts: 2, pid: null, lastExit: { code: 3, signal: null } });
    expect((await runTokens(failing.id)).every((token) => token.revokedAt !== null)).toBe(true);
    const missing = { id: "kExecutor:missing", command: "/nonexistent/kai-agent", backoffMs: 20, maxRestarts: 1 };
    expect((await server.request("/api/agents/run", { method: "POST", json: missing })).status).toBe(201);
    const gone = await eventually(async () => {
      const state = await runState(missing.id);
      return state.state === "crashed" ? state : undefined;
    }, 15_000);
    expect(gone.error).toMatch(/could not be spawned: .*ENOENT/);
  });

  it("refuses a change to an agent record's metadata.agent through the services API", async () => {
    const record = (await (await server.request(`/api/agents/${AUTO}`)).json()) as { metadata: { agent: Record<string, unknown> } };
    const forged = { ...record.metadata, agent: { ...record.metadata.agent, did: "did:key:z6MkforgedForgedForgedForgedForgedForgedForged" } };
    const refused = await server.request(`/api/services/${AUTO}`, { method: "PATCH", json: { metadata: forged } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: "reserved_metadata_key" } });
    const dropped = await server.request(`/api/services/${AUTO}`, { method: "PATCH", json: { metadata: { note: "no agent part" } } });
    expect(dropped.status).toBe(403);
    const kept = await server.request(`/api/services/${AUTO}`, { method: "PATCH", json: { metadata: { ...record.metadata, note: "hello" } } });
    expect(kept.status, await kept.text()).toBe(200);
  });
});

describe("shutdown", () => {
  it("stops every agent the node runs when the node stops", async () => {
    const state = await (await server.request(`/api/agents/${MANUAL}/start`, { method: "POST" })).json() as AgentRunState;
    expect(state.state).toBe("running");
    await server.dispose();
    expect(alive(state.pid!)).toBe(false);
  });
});
