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
 * The A2A task a step waits on is remembered in this process only: after a node restart an answered step starts a
 * new A2A task (the agent asks again if it still needs to).
 */
import { randomUUID } from "node:crypto";
import { Role, TaskState, type Artifact, type Message, type Part, type Task } from "@a2a-js/sdk";
import type { Client } from "@a2a-js/sdk/client";
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";

export interface A2aClientSource {
  clientFor(agentId: string): Promise<Client>;
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

export function createA2aDispatcher(source: A2aClientSource): StepDispatcher {
  /** `taskId:stepId` → the A2A task that step waits on for an answer. */
  const waiting = new Map<string, Waiting>();

  function outgoing(agentId: string, request: StepDispatch, key: string): Message {
    const held = waiting.get(key);
    waiting.delete(key);
    const pending = request.answer !== undefined && held?.agentId === agentId ? held : undefined;
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

  return {
    async dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      if (assignee.kind !== "agent") throw new DispatchError("no_assignee", `${assignee.id} is not an A2A agent`);
      let client: Client;
      try {
        client = await source.clientFor(assignee.id);
      } catch {
        if (request.signal.aborted) throw request.signal.reason;
        throw new DispatchError("agent_unreachable", `${assignee.id}'s agent card could not be read`);
      }
      const key = `${request.taskId}:${request.stepId}`;
      const followed: Followed = { artifacts: new Map() };
      // Cancel reaches the agent: the stream closes (the signal) and the A2A task is canceled.
      const onAbort = () => void cancelRemote(client, followed.ref);
      request.signal.addEventListener("abort", onAbort, { once: true });
      try {
        const stream = client.sendMessageStream(
          { tenant: "", message: outgoing(assignee.id, request, key), configuration: undefined, metadata: undefined },
          { signal: request.signal },
        );
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
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        throw new DispatchError("agent_unreachable", `${assignee.id} could not be reached over A2A: ${error instanceof Error ? error.message.slice(0, MAX_MESSAGE) : "the call failed"}`);
      } finally {
        request.signal.removeEventListener("abort", onAbort);
      }
      if (request.signal.aborted) throw request.signal.reason;
      if (followed.direct && followed.state === undefined) return { kind: "output", output: partsToJson(followed.direct.parts) };
      const said = textOfMessage(followed.statusMessage)?.slice(0, MAX_MESSAGE);
      switch (followed.state) {
        case TaskState.TASK_STATE_COMPLETED:
          return { kind: "output", output: outputOf(followed) };
        case TaskState.TASK_STATE_INPUT_REQUIRED:
          if (followed.ref) {
            if (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value!);
            waiting.set(key, { ...followed.ref, agentId: assignee.id });
          }
          return { kind: "input-required", prompt: (textOfMessage(followed.statusMessage) ?? `${assignee.id} needs more input`).slice(0, 4000) };
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
