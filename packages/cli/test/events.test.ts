/**
 * `kai events tail`: a long-running child that prints one line per bus event (NDJSON with --json), until SIGINT;
 * a task's stored events replayed with --task --after; usage errors. Events come from kCore itself: a task for a
 * capability nobody offers is created through the API, and fails.
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
