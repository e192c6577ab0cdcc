/**
 * @module tasks
 * `client.tasks`: kCore's task API (issue 16). `create` stores and starts a task (202: the plan given, one step for
 * an agent or a capability, else kPlanner plans it), `get`, `list` (the caller's, newest first), `cancel` (reaches
 * the agents), `answer` (an input-required question), and `wait`, which polls until the task finishes or asks a
 * question. Scopes: `tasks:run` to create, cancel and answer; `agents:read` to read.
 */
import {
  ListTasksResponseSchema,
  TaskSchema,
  TERMINAL_TASK_STATES,
  type CreateTaskRequestInput,
  type ListTasksResponse,
  type Task,
  type TaskState,
} from "@kai/protocol";
import { z } from "zod";
import type { HttpTransport } from "./http-transport.js";

const TaskResponseSchema = z.object({ task: TaskSchema });
const taskPath = (id: string) => `/api/agent/task/${encodeURIComponent(id)}`;
/** Creating a task without a plan asks kPlanner (a language model, maybe several times). */
const CREATE_TIMEOUT_MS = 300_000;

export interface WaitOptions {
  /** Give up after this long (default 5 minutes); rejects with an Error naming the task's state. */
  timeoutMs?: number;
  /** Poll interval, ms (default 500). */
  intervalMs?: number;
  /** Also return when the task asks a question (default true). */
  untilInputRequired?: boolean;
  signal?: AbortSignal;
}

export interface TasksClient {
  create(request: CreateTaskRequestInput, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Task>;
  get(id: string): Promise<Task>;
  list(query?: { state?: TaskState | TaskState[]; limit?: number; cursor?: string }): Promise<ListTasksResponse>;
  cancel(id: string): Promise<Task>;
  /** Fails with `task_not_waiting` (409) unless the task is input-required. */
  answer(id: string, answer: unknown): Promise<Task>;
  /** The task once it is completed, failed, canceled or rejected (or input-required, unless told otherwise). */
  wait(id: string, options?: WaitOptions): Promise<Task>;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }, { once: true });
  });
}

export function createTasksClient(http: HttpTransport): TasksClient {
  const get = async (id: string) => (await http.request("GET", taskPath(id), { schema: TaskResponseSchema })).data.task;
  return {
    create: async (request, options) =>
      (
        await http.request("POST", "/api/agent/task", {
          body: request,
          schema: TaskResponseSchema,
          timeoutMs: options?.timeoutMs ?? CREATE_TIMEOUT_MS,
          ...(options?.signal ? { signal: options.signal } : {}),
        })
      ).data.task,
    get,
    list: async (query = {}) => (await http.request("GET", "/api/agent/tasks", { query, schema: ListTasksResponseSchema })).data,
    cancel: async (id) => (await http.request("POST", `${taskPath(id)}/cancel`, { schema: TaskResponseSchema })).data.task,
    answer: async (id, answer) => (await http.request("POST", `${taskPath(id)}/answer`, { body: { answer }, schema: TaskResponseSchema })).data.task,
    async wait(id, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 300_000);
      const stopAt: readonly TaskState[] = options.untilInputRequired === false ? TERMINAL_TASK_STATES : [...TERMINAL_TASK_STATES, "input-required"];
      for (;;) {
        const task = await get(id);
        if (stopAt.includes(task.state)) return task;
        if (Date.now() >= deadline) throw new Error(`task ${id} is still ${task.state}`);
        await delay(Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now())), options.signal);
      }
    },
  };
}
