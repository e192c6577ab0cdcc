/**
 * @module agents/a2a/server/kcore-request-handler
 * The node as an A2A agent: the official SDK's A2ARequestHandler interface implemented on kCore, so the SDK's
 * JsonRpcTransportHandler speaks the wire format (A2A v1.0 JSON-RPC, proto JSON) and kCore does the work. The SDK's
 * DefaultRequestHandler is not used: it runs an AgentExecutor on its own in-memory event bus and task store, and its
 * re-subscribe starts from "now" (the events in between are lost, A2A#1635). Here every stream reads kCore's stored
 * task events (task-stream.ts), tasks are kCore's (stored, resumed after a restart), and access is the caller's token:
 * a task is its owner's (an admin's view covers all), another's is "not found".
 *
 * SendMessage without a taskId creates a task: the goal from the text parts, the input from the data parts, an optional
 * `kai` object in the message's or request's metadata ({capability, agent, plan, context, constraints}); the message id is the
 * idempotency key (a retried send returns the same task). With a taskId it answers the task's input-required question.
 * Push notification configs (a SendMessage's `taskPushNotificationConfig` and the four config methods) go to push/a2a-push.ts,
 * once the caller has been shown the task.
 */
import {
  Role,
  type AgentCard,
  type CancelTaskRequest,
  type GetTaskRequest,
  type ListTasksRequest,
  type ListTasksResponse,
  type Message,
  type SendMessageRequest,
  type StreamResponse,
  type SubscribeToTaskRequest,
  type Task as A2aTask,
  type TaskPushNotificationConfig,
  type GetTaskPushNotificationConfigRequest,
  type ListTaskPushNotificationConfigsRequest,
  type ListTaskPushNotificationConfigsResponse,
  type DeleteTaskPushNotificationConfigRequest,
} from "@a2a-js/sdk";
import type { A2ARequestHandler, ServerCallContext } from "@a2a-js/sdk/server";
import {
  A2AError,
  ContentTypeNotSupportedError,
  ExtendedAgentCardNotConfiguredError,
  PushNotificationNotSupportedError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from "@a2a-js/sdk/errors";
import { CreateTaskRequestSchema, type Task, type TaskState } from "@kai/protocol";
import type { Logger } from "../../../logging/logger.js";
import { viewerOf, type Principal } from "../../../auth/principal.js";
import type { EventHub } from "../../../bus/event-hub.js";
import { ApiError } from "../../../errors.js";
import type { TaskEngine } from "../../kcore/task-engine.js";
import { fromA2aState, isTerminal, toA2aTask } from "./a2a-mapping.js";
import { buildAgentCard } from "./agent-card.js";
import { StreamCutError, taskStream } from "./task-stream.js";
import { PushConfigInvalid, PushConfigNotFound, type A2aPush, type CheckedPushConfig } from "./push/a2a-push.js";

/** Keys of ServerCallContext.state the HTTP route fills. */
export const PRINCIPAL_KEY = "kai.principal";
export const SIGNAL_KEY = "kai.signal";
/** `<taskId>:<seq>` (as /api/events' ids): SubscribeToTask replays after that seq; absent: every stored event. */
export const RESUME_KEY = "kai.resumeAfter";

export interface KcoreRequestHandlerDeps {
  tasks: Pick<TaskEngine, "create" | "get" | "list" | "cancel" | "answer">;
  hub: Pick<EventHub, "subscribe">;
  logger: Logger;
  /** Push notification configs (push/a2a-push.ts); absent: the push methods answer PushNotificationNotSupportedError. */
  push?: A2aPush;
}

function principalIn(context: ServerCallContext): Principal {
  const principal = context.state.get(PRINCIPAL_KEY) as Principal | undefined;
  if (!principal) throw new A2AError("not authenticated");
  return principal;
}

function signalIn(context: ServerCallContext): AbortSignal | undefined {
  return context.state.get(SIGNAL_KEY) as AbortSignal | undefined;
}

function plainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What a caller reads in an A2A error: our error's safe message and code, never a stack or an internal detail. */
export function toA2aError(error: unknown, logger: Logger): A2AError {
  if (error instanceof A2AError) return error;
  if (error instanceof StreamCutError) return new A2AError({ message: error.message, metadata: { reason: error.reason } });
  if (error instanceof PushConfigInvalid) return new RequestMalformedError({ message: error.message, metadata: { code: "validation_failed" } });
  if (error instanceof PushConfigNotFound) return new TaskNotFoundError({ message: error.message, metadata: { code: "not_found" } });
  if (error instanceof ApiError) {
    const metadata = { code: error.code };
    if (error.code === "not_found") return new TaskNotFoundError({ message: error.message, metadata });
    if (error.code === "task_not_waiting") return new UnsupportedOperationError({ message: error.message, metadata });
    const details = error.details?.map((detail) => `${detail.path}: ${detail.message}`).join("; ");
    const message = details ? `${error.message} (${details})` : error.message;
    if (error.status < 500) return new RequestMalformedError({ message, metadata });
    return new A2AError({ message, metadata });
  }
  logger.error({ err: error }, "an A2A request failed");
  return new A2AError("internal error");
}

/** The task a new message asks for, or a malformed-request error naming what is wrong. */
export function createRequestOf(request: SendMessageRequest): ReturnType<typeof CreateTaskRequestSchema.parse> {
  const message = request.message!;
  const texts: string[] = [];
  const input: Record<string, unknown> = {};
  const data: unknown[] = [];
  const urls: string[] = [];
  for (const part of message.parts) {
    const content = part.content;
    if (!content) continue;
    if (content.$case === "text") texts.push(content.value);
    else if (content.$case === "data") {
      if (plainObject(content.value)) Object.assign(input, content.value);
      else data.push(content.value);
    } else if (content.$case === "url") urls.push(content.value);
    else throw new ContentTypeNotSupportedError("raw (inline file) parts are not taken: send data, text or url parts");
  }
  if (data.length > 0) input.data = data;
  if (urls.length > 0) input.urls = urls;
  const kai = plainObject(message.metadata?.kai) ? message.metadata.kai : plainObject(request.metadata?.kai) ? request.metadata.kai : {};
  const parsed = CreateTaskRequestSchema.safeParse({
    goal: texts.join("\n").trim(),
    input,
    ...(kai.capability !== undefined ? { capability: kai.capability } : {}),
    ...(kai.agent !== undefined ? { agent: kai.agent } : {}),
    ...(kai.constraints !== undefined ? { constraints: kai.constraints } : {}),
    ...(kai.plan !== undefined ? { plan: kai.plan } : {}),
    context: { ...(plainObject(kai.context) ? kai.context : {}), a2a: { messageId: message.messageId, ...(message.contextId ? { contextId: message.contextId } : {}) } },
    ...(message.messageId ? { idempotencyKey: `a2a:${message.messageId}`.slice(0, 200) } : {}),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "message"}: ${issue.message}`).join("; ");
    throw new RequestMalformedError(`the message is not a task kCore can run (${problems}); the goal is the text parts, joined`);
  }
  return parsed.data;
}

/** The answer a message gives to an input-required question: its one data part, else its text. */
function answerOf(message: Message): unknown {
  const data = message.parts.flatMap((part) => (part.content?.$case === "data" ? [part.content.value] : []));
  if (data.length === 1) return data[0];
  if (data.length > 1) return data;
  return message.parts.flatMap((part) => (part.content?.$case === "text" ? [part.content.value] : [])).join("\n");
}

const INTERRUPTED: readonly TaskState[] = ["input-required"];

export class KcoreRequestHandler implements A2ARequestHandler {
  constructor(private readonly deps: KcoreRequestHandlerDeps) {}

  async getAgentCard(): Promise<AgentCard> {
    return buildAgentCard("", []);
  }

  async getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    throw new ExtendedAgentCardNotConfiguredError();
  }

  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | A2aTask> {
    return this.guard(async () => {
      const principal = principalIn(context);
      const task = await this.start(params, principal);
      // Blocking unless returnImmediately: until the task ends or asks a question (A2A's interrupted state).
      if (params.configuration?.returnImmediately || isTerminal(task.state) || INTERRUPTED.includes(task.state)) return toA2aTask(task);
      let last = task;
      for await (const response of taskStream({ hub: this.deps.hub, viewer: viewerOf(principal), snapshot: task, after: task.lastSeq, endAt: (state) => INTERRUPTED.includes(state), ...this.signalOption(context) })) {
        void response;
      }
      last = await this.deps.tasks.get(task.id, principal);
      return toA2aTask(last);
    });
  }

  async *sendMessageStream(params: SendMessageRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    const principal = principalIn(context);
    const task = await this.guard(() => this.start(params, principal));
    yield* this.guardStream(taskStream({ hub: this.deps.hub, viewer: viewerOf(principal), snapshot: task, after: task.lastSeq, endAt: (state) => INTERRUPTED.includes(state), ...this.signalOption(context) }));
  }

  async *resubscribe(params: SubscribeToTaskRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    const principal = principalIn(context);
    const task = await this.guard(() => this.deps.tasks.get(params.id, principal));
    if (isTerminal(task.state)) throw new UnsupportedOperationError(`task ${task.id} is ${task.state}: read it with GetTask`);
    const after = this.resumeAfter(context, task);
    yield* this.guardStream(taskStream({ hub: this.deps.hub, viewer: viewerOf(principal), snapshot: task, after, endAt: () => false, ...this.signalOption(context) }));
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<A2aTask> {
    return this.guard(async () => toA2aTask(await this.deps.tasks.get(params.id, principalIn(context))));
  }

  async listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.guard(async () => {
      const state = params.status ? fromA2aState(params.status) : undefined;
      if (params.status && !state) return { tasks: [], nextPageToken: "", pageSize: params.pageSize ?? 50, totalSize: 0 };
      const limit = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
      const page = await this.deps.tasks.list({ limit, ...(state ? { state: [state] } : {}), ...(params.pageToken ? { cursor: params.pageToken } : {}) }, principalIn(context));
      // Each task is its own context (contextId = task id): a contextId filter selects that task.
      const tasks = params.contextId ? page.tasks.filter((task) => task.id === params.contextId) : page.tasks;
      // kCore does not count a listing: totalSize is what this page holds.
      return { tasks: tasks.map(toA2aTask), nextPageToken: page.nextCursor ?? "", pageSize: limit, totalSize: tasks.length };
    });
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<A2aTask> {
    return this.guard(async () => {
      const principal = principalIn(context);
      const before = await this.deps.tasks.get(params.id, principal);
      if (isTerminal(before.state)) throw new TaskNotCancelableError(`task ${before.id} is already ${before.state}`);
      return toA2aTask(await this.deps.tasks.cancel(params.id, principal));
    });
  }

  /** A config of a task the caller may see (another's task: TaskNotFoundError); it gets the task's events from now on. */
  async createTaskPushNotificationConfig(params: TaskPushNotificationConfig, context: ServerCallContext): Promise<TaskPushNotificationConfig> {
    return this.guard(async () => {
      const push = this.pushOrRefuse();
      return push.create(await this.deps.tasks.get(params.taskId, principalIn(context)), params);
    });
  }

  async getTaskPushNotificationConfig(params: GetTaskPushNotificationConfigRequest, context: ServerCallContext): Promise<TaskPushNotificationConfig> {
    return this.guard(async () => {
      const push = this.pushOrRefuse();
      return push.get(await this.deps.tasks.get(params.taskId, principalIn(context)), params.id);
    });
  }

  async listTaskPushNotificationConfigs(params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext): Promise<ListTaskPushNotificationConfigsResponse> {
    return this.guard(async () => {
      const push = this.pushOrRefuse();
      // At most MAX_CONFIGS_PER_TASK per task: one page holds them all.
      return { configs: await push.list(await this.deps.tasks.get(params.taskId, principalIn(context))), nextPageToken: "" };
    });
  }

  async deleteTaskPushNotificationConfig(params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext): Promise<void> {
    return this.guard(async () => {
      const push = this.pushOrRefuse();
      await push.delete(await this.deps.tasks.get(params.taskId, principalIn(context)), params.id);
    });
  }

  private pushOrRefuse(): A2aPush {
    if (!this.deps.push) throw new PushNotificationNotSupportedError();
    return this.deps.push;
  }

  /** A new task, or the answer to the question of the task the message names. */
  private async start(params: SendMessageRequest, principal: Principal): Promise<Task> {
    const message = params.message;
    if (!message) throw new RequestMalformedError("SendMessage needs a message");
    if (message.role !== Role.ROLE_USER && message.role !== Role.ROLE_UNSPECIFIED) throw new RequestMalformedError("the message's role must be ROLE_USER");
    // A push config sent with the message is checked before anything is made, and stored before this answers.
    const pushConfig = params.configuration?.taskPushNotificationConfig;
    const checked: CheckedPushConfig | undefined = pushConfig ? await this.pushOrRefuse().check(pushConfig) : undefined;
    if (!message.taskId) {
      const created = await this.deps.tasks.create(createRequestOf(params), principal);
      // Every event of the task it made, from the first.
      if (checked) await this.deps.push!.store(created, checked, { fromStart: true });
      return created;
    }
    const task = await this.deps.tasks.get(message.taskId, principal);
    if (task.state !== "input-required") throw new UnsupportedOperationError(`task ${task.id} is ${task.state}: only an input-required task takes a message`);
    if (checked) await this.deps.push!.store(task, checked, { fromStart: false });
    return this.deps.tasks.answer(task.id, principal, { answer: answerOf(message) });
  }

  private resumeAfter(context: ServerCallContext, task: Task): number {
    const value = context.state.get(RESUME_KEY);
    if (typeof value !== "string") return 0;
    const at = value.lastIndexOf(":");
    const seq = value.slice(at + 1);
    if (at < 0 || value.slice(0, at) !== task.id || !/^\d{1,15}$/.test(seq)) return 0;
    return Math.min(Number(seq), task.lastSeq);
  }

  private signalOption(context: ServerCallContext): { signal?: AbortSignal } {
    const signal = signalIn(context);
    return signal ? { signal } : {};
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toA2aError(error, this.deps.logger);
    }
  }

  private async *guardStream(stream: AsyncGenerator<StreamResponse, void, undefined>): AsyncGenerator<StreamResponse, void, undefined> {
    try {
      yield* stream;
    } catch (error) {
      throw toA2aError(error, this.deps.logger);
    }
  }
}
