/**
 * @module agents/a2a/server/a2a-mapping
 * kCore's tasks and stored task events in A2A v1.0's shapes (the official SDK's types): states map one to one
 * (ours are A2A's), a task becomes an A2A Task (its result an artifact, its question or error the status message),
 * and each stored task event becomes a status update carrying the event's seq, so a client can tell what it has.
 * Pure functions: the request handler and the stream use them, and tests can check them without a node.
 */
import { randomUUID } from "node:crypto";
import { Role, TaskState, type Artifact, type Message, type Part, type StreamResponse, type Task as A2aTask } from "@a2a-js/sdk";
import { TERMINAL_TASK_STATES, type BusEvent, type Task, type TaskState as KaiTaskState } from "@kai/protocol";

const TO_A2A: Record<KaiTaskState, TaskState> = {
  submitted: TaskState.TASK_STATE_SUBMITTED,
  working: TaskState.TASK_STATE_WORKING,
  "input-required": TaskState.TASK_STATE_INPUT_REQUIRED,
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  canceled: TaskState.TASK_STATE_CANCELED,
  rejected: TaskState.TASK_STATE_REJECTED,
};

export function toA2aState(state: KaiTaskState): TaskState {
  return TO_A2A[state];
}

/** Our state for an A2A one (ListTasks' filter); undefined for the states kCore never uses (auth-required, unspecified). */
export function fromA2aState(state: TaskState): KaiTaskState | undefined {
  return (Object.keys(TO_A2A) as KaiTaskState[]).find((key) => TO_A2A[key] === state);
}

export function isTerminal(state: KaiTaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

/** The artifact that carries a completed task's result (one per task: kCore aggregates the steps' outputs). */
export const RESULT_ARTIFACT_ID = "result";

export function textPart(text: string): Part {
  return { content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" };
}

export function dataPart(value: unknown): Part {
  return { content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "application/json" };
}

function agentMessage(task: Pick<Task, "id">, parts: Part[]): Message {
  return { messageId: randomUUID(), contextId: task.id, taskId: task.id, role: Role.ROLE_AGENT, parts, metadata: undefined, extensions: [], referenceTaskIds: [] };
}

function resultArtifact(result: unknown): Artifact {
  return { artifactId: RESULT_ARTIFACT_ID, name: "result", description: "The task's result: the outputs of its last steps, by step id", parts: [dataPart(result ?? null)], metadata: undefined, extensions: [] };
}

/** What the status says beyond its state: the question asked, or why the task failed. */
function statusMessage(task: Task): Message | undefined {
  if (task.state === "input-required" && task.question) return agentMessage(task, [textPart(task.question.prompt), dataPart({ step: task.question.step })]);
  if (task.error) return agentMessage(task, [textPart(task.error.message), dataPart({ error: task.error })]);
  return undefined;
}

/**
 * A kCore task as an A2A Task. Each task is its own context (kCore has no conversations): contextId = task id.
 * History is not kept (kCore stores events, not messages); `metadata.kai` has the goal, plan id, steps and lastSeq.
 */
export function toA2aTask(task: Task): A2aTask {
  return {
    id: task.id,
    contextId: task.id,
    status: { state: toA2aState(task.state), message: statusMessage(task), timestamp: task.updatedAt },
    artifacts: task.state === "completed" ? [resultArtifact(task.result)] : [],
    history: [],
    metadata: { kai: { goal: task.goal, ...(task.planId !== undefined ? { planId: task.planId } : {}), steps: task.steps, lastSeq: task.lastSeq } },
  };
}

/** The task state an event leaves the task in (TASK_PROGRESS says it; a step's result or error leaves it as it was). */
export function stateAfter(event: BusEvent, before: KaiTaskState): KaiTaskState {
  const state = (event.payload as { state?: unknown }).state;
  return event.type === "TASK_PROGRESS" && typeof state === "string" && state in TO_A2A ? (state as KaiTaskState) : before;
}

/**
 * One stored task event as A2A stream responses: a status update (the event's payload as a data part, its seq,
 * type and agent in metadata); a completion is preceded by the result artifact.
 */
export function toStreamResponses(event: BusEvent, state: KaiTaskState): StreamResponse[] {
  const taskId = event.taskId ?? "";
  const payload = event.payload as { prompt?: unknown; error?: { message?: unknown }; result?: unknown };
  const parts: Part[] = [];
  if (state === "input-required" && typeof payload.prompt === "string") parts.push(textPart(payload.prompt));
  if (state === "failed" && typeof payload.error?.message === "string") parts.push(textPart(payload.error.message));
  parts.push(dataPart({ type: event.type, ...event.payload }));
  const metadata = { kai: { seq: event.seq, type: event.type, agent: event.agent, ...(event.planId !== undefined ? { planId: event.planId } : {}) } };
  const out: StreamResponse[] = [];
  if (event.type === "TASK_PROGRESS" && state === "completed") {
    out.push({ payload: { $case: "artifactUpdate", value: { taskId, contextId: taskId, artifact: resultArtifact(payload.result), append: false, lastChunk: true, metadata } } });
  }
  out.push({
    payload: {
      $case: "statusUpdate",
      value: { taskId, contextId: taskId, status: { state: toA2aState(state), message: agentMessage({ id: taskId }, parts), timestamp: event.timestamp }, metadata },
    },
  });
  return out;
}
