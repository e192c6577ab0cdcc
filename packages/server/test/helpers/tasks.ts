/**
 * Tasks through a real node's HTTP API, as the kCore, review and restart tests use them: create (202, parsed by the
 * protocol's schema), read, and wait until a task reaches one of some states (by default a terminal one).
 */
import { expect } from "vitest";
import { TaskSchema, TERMINAL_TASK_STATES, type CreateTaskRequestInput, type Task } from "@kai/protocol";
import { eventually, type TestServer } from "./test-server.js";

export async function createTask(node: TestServer, token: string, body: CreateTaskRequestInput): Promise<Task> {
  const response = await node.request("/api/agent/task", { method: "POST", json: body, token });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  return TaskSchema.parse((JSON.parse(text) as { task: unknown }).task);
}

export async function readTask(node: TestServer, token: string, id: string): Promise<Task> {
  const response = await node.request(`/api/agent/task/${id}`, { token });
  expect(response.status).toBe(200);
  return TaskSchema.parse(((await response.json()) as { task: unknown }).task);
}

/** The task once its state is one of `states` (terminal by default); fails after `timeoutMs`. */
export async function taskReaching(node: TestServer, token: string, id: string, states: readonly string[] = TERMINAL_TASK_STATES, timeoutMs = 15_000): Promise<Task> {
  return eventually(async () => {
    const task = await readTask(node, token, id);
    return states.includes(task.state) ? task : undefined;
  }, timeoutMs);
}
