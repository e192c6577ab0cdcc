/**
 * `kai events tail`: a long-running child that prints one line per bus event (NDJSON with --json), until SIGINT;
 * a task's stored events replayed with --task --after; usage errors. Events come from kCore itself: a task for a
 * capability nobody offers is created through the API, and fails. Also `kai logs tail` and `kai logs search` (the node's
 * log lines: their filters, a level in any case, a window the wrong way round, none matching), on the same server.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { exitOf, runKai, sandbox, spawnKai, startTestServer, waitForOutput, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

const env = () => ({ ...box.env, KAI_TOKEN: server.adminToken });
const failingTask = () => createClient({ url: server.url, token: server.adminToken }).tasks.create({ goal: "nobody can", capability: `cli_events_${randomUUID().slice(0, 8)}` });

describe("kai events tail", () => {
  it("prints live events of the filtered type, one line each, and stops cleanly on SIGINT", async () => {
    const child = spawnKai(["events", "tail", "--url", server.url, "--type", "TASK_PROGRESS"], { cwd: box.dir, env: env() });
    try {
      await waitForOutput(child.stderr, /following the bus/);
      const task = await failingTask();
      const output = await waitForOutput(child.stdout, new RegExp(`TASK_PROGRESS ${task.id}:\\d+ `));
      expect(output).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z TASK_PROGRESS \S+:\d+ \S+ \{/m);
      child.kill("SIGINT");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("--task --after 0 --json replays the task's stored events in order as NDJSON", async () => {
    const task = await failingTask();
    const child = spawnKai(["events", "tail", "--url", server.url, "--task", task.id, "--after", "0", "--json"], { cwd: box.dir, env: env() });
    try {
      const output = await waitForOutput(child.stdout, /"seq":2[,}]/);
      const events = output.trim().split("\n").map((line) => JSON.parse(line) as { taskId: string; seq: number });
      expect(events.slice(0, 2).map((e) => [e.taskId, e.seq])).toEqual([[task.id, 1], [task.id, 2]]);
      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses --after without --task, and an unknown type, as usage errors (exit 2)", async () => {
    const noTask = await runKai(["events", "tail", "--url", server.url, "--after", "3"], { cwd: box.dir, env: env() });
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toContain("--after needs --task");
    const badType = await runKai(["events", "tail", "--url", server.url, "--type", "NOPE"], { cwd: box.dir, env: env() });
    expect(badType.code).toBe(2);
  });
});

describe("kai logs tail and search", () => {
  it("--no-follow --level warn prints the recent warnings, one readable line each, and stops", async () => {
    // A refused vault read: the vault's security line, at warn.
    const missing = await fetch(`${server.url}/api/vault/secrets/cli-logs-missing`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(missing.status).toBe(404);
    const result = await runKai(["logs", "tail", "--url", server.url, "--no-follow", "--level", "warn"], { cwd: box.dir, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (WARN |ERROR|FATAL) /.test(line))).toBe(true);
    expect(result.stdout).toMatch(/WARN {2}security: vault\.secret\.get .*category=security .*operation=secret\.get .*outcome=failed/);
    expect(result.stdout).not.toContain(server.adminToken);

    const json = await runKai(["logs", "tail", "--url", server.url, "--no-follow", "--level", "warn", "--json", "-n", "5"], { cwd: box.dir, env: env() });
    expect(json.code, json.stderr).toBe(0);
    const entries = json.stdout.trim().split("\n").map((line) => JSON.parse(line) as { level: string; seq: number });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThanOrEqual(5);
    expect(entries.every((entry) => ["warn", "error", "fatal"].includes(entry.level))).toBe(true);

    // The level as the lines print it (WARN), or in any case: the same filter.
    const capitals = await runKai(["logs", "tail", "--url", server.url, "--no-follow", "--level", "WARN"], { cwd: box.dir, env: env() });
    expect(capitals.code, capitals.stderr).toBe(0);
    expect(capitals.stdout.trim().split("\n").every((line) => /^\S+ (WARN |ERROR|FATAL) /.test(line))).toBe(true);
    expect(capitals.stdout).toMatch(/WARN {2}security: vault\.secret\.get .*outcome=failed/);
    const mixed = await runKai(["logs", "search", "--url", server.url, "--since", "1h", "--level", "Warn"], { cwd: box.dir, env: env() });
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(mixed.stdout).toMatch(/WARN {2}security: vault\.secret\.get .*outcome=failed/);
  });

  it("follows: prints a request's and a task's new lines as the node writes them, and stops cleanly on a signal", async () => {
    const child = spawnKai(["logs", "tail", "--url", server.url, "--request", "cli-logs-follow"], { cwd: box.dir, env: env() });
    try {
      await waitForOutput(child.stderr, /following the node's log/);
      await fetch(`${server.url}/api/status`, { headers: { authorization: `Bearer ${server.adminToken}`, "x-request-id": "cli-logs-follow" } });
      const output = await waitForOutput(child.stdout, /INFO {2}request \[cli-logs-follow\] .*route=\/api\/status/);
      expect(output).not.toContain(server.adminToken);
      child.kill("SIGINT");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    // A task's lines by its id: kCore's lines carry taskId.
    const task = await failingTask();
    const byTask = spawnKai(["logs", "tail", "--url", server.url, "--task", task.id, "--json"], { cwd: box.dir, env: env() });
    try {
      const output = await waitForOutput(byTask.stdout, new RegExp(`"taskId":"${task.id}"`));
      await waitForOutput(byTask.stderr, /following the node's log/);
      const entries = output.trim().split("\n").map((line) => JSON.parse(line) as { fields: { taskId?: string } });
      expect(entries.every((entry) => entry.fields.taskId === task.id)).toBe(true);
      byTask.kill("SIGTERM");
      expect(await exitOf(byTask)).toBe(0);
    } finally {
      byTask.kill("SIGKILL");
    }
  });

  it("--log security prints the security log's lines only, tail and search; another log name is a usage error", async () => {
    const missing = await fetch(`${server.url}/api/vault/secrets/cli-logs-security`, { headers: { authorization: `Bearer ${server.adminToken}`, "x-request-id": "cli-logs-security" } });
    expect(missing.status).toBe(404);
    for (const command of [["tail", "--no-follow", "-n", "200"], ["search", "--since", "1h"]]) {
      const result = await runKai(["logs", ...command, "--url", server.url, "--log", "security"], { cwd: box.dir, env: env() });
      expect(result.code, result.stderr).toBe(0);
      const lines = result.stdout.trim().split("\n");
      // The refused read's security line, not its request line (which is in the system log only).
      expect(result.stdout, command[0]).toMatch(/security: vault\.secret\.get \[cli-logs-security\] .*outcome=failed/);
      expect(result.stdout, command[0]).not.toMatch(/request \[cli-logs-security\]/);
      expect(lines.every((line) => line.includes("category=security")), command[0]).toBe(true);
    }
    const bad = await runKai(["logs", "tail", "--url", server.url, "--no-follow", "--log", "system"], { cwd: box.dir, env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are security, agents");
  });

  it("refuses a bad level as a usage error (exit 2) naming --level", async () => {
    const bad = await runKai(["logs", "tail", "--url", server.url, "--level", "loud", "--no-follow"], { cwd: box.dir, env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid filter: --level: .*"warn"/m);
  });

  it("--no-follow with no matching line says so on stderr, and prints nothing on stdout", async () => {
    const none = await runKai(["logs", "tail", "--url", server.url, "--no-follow", "--grep", `cli-no-such-line-${randomUUID()}`], { cwd: box.dir, env: env() });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe("no log lines match\n");
    // --json: no lines is the answer itself, as a list command's empty document is.
    const json = await runKai(["logs", "tail", "--url", server.url, "--no-follow", "--json", "--grep", `cli-no-such-line-${randomUUID()}`], { cwd: box.dir, env: env() });
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe("");
    expect(json.stderr).toBe("");
  });

  it("search: --until before --since is a usage error (exit 2) naming both flags, before anything is asked of the node", async () => {
    const swapped = await runKai(["logs", "search", "--url", server.url, "--since", "1h", "--until", "2h"], { cwd: box.dir, env: env() });
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toMatch(/^error: --until 2h \(\S+\) is before --since 1h \(\S+\): no line could match; .*--since 2h --until 1h/m);
    expect(swapped.stderr).toContain("(usage)");
    const times = await runKai(["logs", "search", "--url", server.url, "--since", "2026-12-07T10:00:00Z", "--until", "2026-12-07T09:00:00Z"], { cwd: box.dir, env: env() });
    expect(times.code).toBe(2);
    expect(times.stderr).toContain("--until 2026-12-07T09:00:00Z is before --since 2026-12-07T10:00:00Z");
    // The window the right way round is searched.
    const window = await runKai(["logs", "search", "--url", server.url, "--since", "2h", "--until", "1s"], { cwd: box.dir, env: env() });
    expect(window.code, window.stderr).toBe(0);
  });

  it("--since: a duration back from now or a time; lines before it are left out", async () => {
    expect((await fetch(`${server.url}/api/status`, { headers: { authorization: `Bearer ${server.adminToken}`, "x-request-id": "cli-since-1" } })).status).toBe(200);
    const tail = (since: string) => runKai(["logs", "tail", "--url", server.url, "--no-follow", "--request", "cli-since-1", "--since", since], { cwd: box.dir, env: env() });
    const lastHour = await tail("1h");
    expect(lastHour.code, lastHour.stderr).toBe(0);
    expect(lastHour.stdout).toContain("[cli-since-1]");
    // A time after the request: nothing of it.
    const later = await tail(new Date(Date.now() + 3_600_000).toISOString());
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toBe("");
    expect(later.stderr).toContain("no log lines match");
    const bad = await tail("yesterday");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since: a duration such as 10m, 2h or 1d");
  });
});
