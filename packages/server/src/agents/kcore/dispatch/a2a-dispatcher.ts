/**
 * @module agents/kcore/dispatch/a2a-dispatcher
 * A step run on an external A2A agent (issue 16), through the official SDK's client. The step goes out as one
 * A2A message: a data part with the step's input (and a text part, for agents that read text only) and the step
 * in the message's metadata. The node follows the A2A task by SendStreamingMessage (the SDK falls back to a
 * blocking SendMessage when the card says the agent does not stream) and maps the A2A states onto kCore's:
 * completed → the step's output (the artifacts' parts as JSON, else the final message's), failed/rejected/canceled
 * → `DispatchError`, input-required → kCore's input-required: the answer goes back later as a message on the SAME
 * A2A task (the A2A task id is kept for that step until it is answered). The step's AbortSignal (cancel, timeout,
 * shutdown) closes the stream and sends CancelTask, so cancellation reaches the agent.
 *
 * The A2A task a step waits on survives a restart: the input-required outcome carries a `resume` handle (transport,
 * agent id, A2A task and context ids) that kCore stores on the step run and gives back when the step runs again, so
 * an answer after a restart goes to the same remote task instead of starting over. A task canceled (or failed)
 * while such a step waits calls `abandon(resume)`: the remote task gets CancelTask. Within one process the handle
 * is also remembered here, for a runner that does not pass it back.
 */
import { randomUUID } from "node:crypto";
import { Role, TaskState, type Artifact, type Message, type Part, type Task } from "@a2a-js/sdk";
import type { Client } from "@a2a-js/sdk/client";
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";
import { withTraceHeaders } from "../../../tracing/spans.js";

export interface A2aClientSource {
  clientFor(agentId: string): Promise<Client>;
}

/**
 * What kCore keeps on a step waiting on an A2A agent (JSON, a few hundred bytes): enough to answer or cancel the
 * remote task after a restart. `transport` lets kCore's switch route it back to this dispatcher.
 */
export interface A2aResume {
  transport: "a2a";
  agentId: string;
  taskId: string;
  contextId: string;
}

const ID_LIMIT = 512;

/** The handle kCore gave back, when it is one of ours and well formed (it comes from the store: checked, not trusted). */
export function a2aResumeOf(value: unknown): A2aResume | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { transport, agentId, taskId, contextId } = value as Record<string, unknown>;
  if (transport !== "a2a") return undefined;
  for (const id of [agentId, taskId, contextId]) if (typeof id !== "string" || id.length === 0 || id.length > ID_LIMIT) return undefined;
  return { transport, agentId: agentId as string, taskId: taskId as string, contextId: contextId as string };
}

/** A step request as kCore sends it once it passes the step's stored handle back (`resume`). */
export type A2aStepDispatch = Omit<StepDispatch, "resume"> & { resume?: unknown };
/** An outcome with the handle kCore stores on the step run (input-required only). */
export type A2aDispatchOutcome = DispatchOutcome & { resume?: A2aResume };

export interface A2aDispatcher extends StepDispatcher {
  dispatch(assignee: Assignee, request: A2aStepDispatch): Promise<A2aDispatchOutcome>;
  /** The step will not run again (its task was canceled or failed while it waited): the remote task is canceled. */
  abandon(resume: unknown): Promise<void>;
}

/** Steps waiting for an answer at most this many at once (the oldest is forgotten first). */
const MAX_WAITING = 10_000;
const MAX_MESSAGE = 300;
/** A CancelTask sent on abort is given this long; the step is over either way. */
const CANCEL_TIMEOUT_MS = 5_000;

interface A2aTaskRef {
  taskId: string;
  contextId: string;
}

/** The A2A task a step waits on, and the agent it lives on (an answer goes there only). */
interface Waiting extends A2aTaskRef {
  agentId: string;
}

/** The state of an A2A task as the stream tells it. */
interface Followed {
  ref?: A2aTaskRef;
  state?: TaskState;
  statusMessage?: Message;
  artifacts: Map<string, Artifact>;
  /** An agent may answer with a message and no task at all: that is the result. */
  direct?: Message;
}

function textPart(text: string): Part {
  return { content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" };
}

function dataPart(value: unknown): Part {
  return { content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "application/json" };
}

/** A text the agent can read: the input's own `text`/`prompt`/`query` when it has one, else the input as JSON. */
function textOf(input: Record<string, unknown>): string {
  for (const key of ["text", "prompt", "query", "question"]) if (typeof input[key] === "string") return input[key];
  return JSON.stringify(input);
}

/** Parts as JSON: one data part → its value; text only → the text; otherwise a list of `{text}` / `{data}` / `{url}` / `{file}`. */
export function partsToJson(parts: readonly Part[]): unknown {
  if (parts.length === 1 && parts[0]?.content?.$case === "data") return parts[0].content.value;
  if (parts.length > 0 && parts.every((part) => part.content?.$case === "text")) return parts.map((part) => (part.content as { value: string }).value).join("\n");
  return parts.map((part) => {
    const content = part.content;
    switch (content?.$case) {
      case "text":
        return { text: content.value };
      case "data":
        return { data: content.value };
      case "url":
        return { url: content.value, ...(part.mediaType ? { mediaType: part.mediaType } : {}) };
      case "raw":
        return { file: Buffer.from(content.value).toString("base64"), ...(part.mediaType ? { mediaType: part.mediaType } : {}), ...(part.filename ? { filename: part.filename } : {}) };
      default:
        return null;
    }
  });
}

function textOfMessage(message: Message | undefined): string | undefined {
  const text = message?.parts
    .map((part) => (part.content?.$case === "text" ? part.content.value : undefined))
    .filter((value): value is string => value !== undefined)
    .join("\n");
  return text ? text : undefined;
}

function outputOf(followed: Followed): unknown {
  const artifacts = [...followed.artifacts.values()];
  if (artifacts.length === 1) return partsToJson(artifacts[0]!.parts);
  if (artifacts.length > 1) return Object.fromEntries(artifacts.map((artifact) => [artifact.name || artifact.artifactId, partsToJson(artifact.parts)]));
  return followed.statusMessage ? partsToJson(followed.statusMessage.parts) : null;
}

function noteTask(followed: Followed, task: Task): void {
  followed.ref = { taskId: task.id, contextId: task.contextId };
  if (task.status) {
    followed.state = task.status.state;
    followed.statusMessage = task.status.message;
  }
  for (const artifact of task.artifacts ?? []) followed.artifacts.set(artifact.artifactId, artifact);
}

function noteArtifact(followed: Followed, artifact: Artifact, append: boolean): void {
  const earlier = followed.artifacts.get(artifact.artifactId);
  followed.artifacts.set(artifact.artifactId, append && earlier ? { ...earlier, parts: [...earlier.parts, ...artifact.parts] } : artifact);
}

export function createA2aDispatcher(source: A2aClientSource): A2aDispatcher {
  /** `taskId:stepId` → the A2A task that step waits on for an answer (this process's copy of the stored handle). */
  const waiting = new Map<string, Waiting>();

  function outgoing(agentId: string, request: A2aStepDispatch, key: string): Message {
    const held = waiting.get(key);
    waiting.delete(key);
    // The stored handle first (it outlives a restart), else this process's memory; only on the agent that asked.
    const stored = a2aResumeOf(request.resume);
    const known = stored ?? held;
    const pending = request.answer !== undefined && known?.agentId === agentId ? known : undefined;
    const metadata = { kai: { taskId: request.taskId, planId: request.planId, stepId: request.stepId, capability: request.capability } };
    if (pending) {
      // The answer to the agent's question, on the same A2A task.
      const answer = request.answer;
      return {
        messageId: randomUUID(),
        role: Role.ROLE_USER,
        taskId: pending.taskId,
        contextId: pending.contextId,
        parts: typeof answer === "string" ? [textPart(answer)] : [textPart(JSON.stringify(answer)), dataPart(answer)],
        metadata,
        extensions: [],
        referenceTaskIds: [],
      };
    }
    const input = request.answer !== undefined ? { ...request.input, answer: request.answer } : request.input;
    return {
      messageId: randomUUID(),
      role: Role.ROLE_USER,
      taskId: "",
      contextId: "",
      parts: [textPart(textOf(input)), dataPart(input)],
      metadata,
      extensions: [],
      referenceTaskIds: [],
    };
  }

  async function cancelRemote(client: Client, ref: A2aTaskRef | undefined): Promise<void> {
    if (!ref) return;
    await client.cancelTask({ tenant: "", id: ref.taskId, metadata: undefined }, { signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS) }).catch(() => undefined);
  }

  function unreachable(agentId: string, error: unknown): DispatchError {
    return new DispatchError("agent_unreachable", `${agentId} could not be reached over A2A: ${error instanceof Error ? error.message.slice(0, MAX_MESSAGE) : "the call failed"}`);
  }

  /** Sends `message` and follows the A2A task it makes (or continues) until the stream ends, noting what it says. */
  async function follow(client: Client, message: Message, signal: AbortSignal, followed: Followed): Promise<void> {
    // Cancel reaches the agent: the stream closes (the signal) and the A2A task is canceled.
    const onAbort = () => void cancelRemote(client, followed.ref);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      // Service parameters travel as HTTP headers: the step's `traceparent` when the task is traced (tracing/spans.ts).
      const stream = client.sendMessageStream({ tenant: "", message, configuration: undefined, metadata: undefined }, { signal, serviceParameters: withTraceHeaders({}) });
      for await (const event of stream) {
        const payload = event.payload;
        if (!payload) continue;
        if (payload.$case === "task") noteTask(followed, payload.value);
        else if (payload.$case === "message") followed.direct = payload.value;
        else if (payload.$case === "statusUpdate") {
          followed.ref ??= { taskId: payload.value.taskId, contextId: payload.value.contextId };
          if (payload.value.status) {
            followed.state = payload.value.status.state;
            followed.statusMessage = payload.value.status.message;
          }
        } else if (payload.$case === "artifactUpdate" && payload.value.artifact) noteArtifact(followed, payload.value.artifact, payload.value.append);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  return {
    async abandon(resume: unknown): Promise<void> {
      const ref = a2aResumeOf(resume);
      if (!ref) return;
      for (const [key, held] of waiting) if (held.taskId === ref.taskId && held.agentId === ref.agentId) waiting.delete(key);
      let client: Client;
      try {
        client = await source.clientFor(ref.agentId);
      } catch {
        return; // the agent is gone or unreadable: nothing left to cancel there
      }
      await cancelRemote(client, ref);
    },

    async dispatch(assignee: Assignee, request: A2aStepDispatch): Promise<A2aDispatchOutcome> {
      if (assignee.kind !== "agent") throw new DispatchError("no_assignee", `${assignee.id} is not an A2A agent`);
      let client: Client;
      try {
        client = await source.clientFor(assignee.id);
      } catch {
        if (request.signal.aborted) throw request.signal.reason;
        throw new DispatchError("agent_unreachable", `${assignee.id}'s agent card could not be read`);
      }
      const key = `${request.taskId}:${request.stepId}`;
      const message = outgoing(assignee.id, request, key);
      let followed: Followed = { artifacts: new Map() };
      let failure: { error: unknown } | undefined;
      try {
        await follow(client, message, request.signal, followed);
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        failure = { error };
      }
      // An answer to a remote task the agent no longer has (it restarted, or dropped it) brings back nothing (the
      // SDK's stream ends empty, or raises "task not found"): the step starts over as a new A2A task with the answer
      // in its input, as it did before handles were kept.
      const silent = followed.ref === undefined && followed.state === undefined && followed.direct === undefined;
      if (message.taskId !== "" && silent) {
        followed = { artifacts: new Map() };
        failure = undefined;
        try {
          await follow(client, outgoing(assignee.id, { ...request, resume: undefined }, key), request.signal, followed);
        } catch (error) {
          if (request.signal.aborted) throw request.signal.reason ?? error;
          failure = { error };
        }
      }
      if (failure) throw unreachable(assignee.id, failure.error);
      if (request.signal.aborted) throw request.signal.reason;
      if (followed.direct && followed.state === undefined) return { kind: "output", output: partsToJson(followed.direct.parts) };
      const said = textOfMessage(followed.statusMessage)?.slice(0, MAX_MESSAGE);
      switch (followed.state) {
        case TaskState.TASK_STATE_COMPLETED:
          return { kind: "output", output: outputOf(followed) };
        case TaskState.TASK_STATE_INPUT_REQUIRED:
        {
          const prompt = (textOfMessage(followed.statusMessage) ?? `${assignee.id} needs more input`).slice(0, 4000);
          if (!followed.ref) return { kind: "input-required", prompt };
          if (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value!);
          waiting.set(key, { ...followed.ref, agentId: assignee.id });
          return { kind: "input-required", prompt, resume: { transport: "a2a", agentId: assignee.id, taskId: followed.ref.taskId, contextId: followed.ref.contextId } };
        }
        case TaskState.TASK_STATE_FAILED:
          throw new DispatchError("agent_error", `${assignee.id} failed the task${said ? `: ${said}` : ""}`);
        case TaskState.TASK_STATE_REJECTED:
          throw new DispatchError("agent_error", `${assignee.id} rejected the task${said ? `: ${said}` : ""}`);
        case TaskState.TASK_STATE_CANCELED:
          throw new DispatchError("agent_error", `${assignee.id} canceled the task${said ? `: ${said}` : ""}`);
        case TaskState.TASK_STATE_AUTH_REQUIRED:
          await cancelRemote(client, followed.ref);
          throw new DispatchError("agent_error", `${assignee.id} asks for authentication, which the node cannot give it`);
        default:
          await cancelRemote(client, followed.ref);
          throw new DispatchError("agent_bad_answer", `${assignee.id} ended the exchange before the task finished`);
      }
    },
  };
}
