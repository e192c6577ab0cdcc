/**
 * @module agents/kcore/dispatch/klp-dispatcher
 * The KLP transport for kCore: a step goes to an agent as a `task_request` envelope signed by the node key, POSTed
 * to the agent's `<url>/klp/message`; the agent answers with a stream of envelopes (NDJSON: zero or more
 * `status_update`s, then one `task_result` or `task_error`). Every answer line runs KLP's acceptance rules and must
 * be signed by the DID in the agent's record (`metadata.agent.did`), addressed to this node and correlated to the
 * request; anything else (unsigned, another key, replayed, uncorrelated) is refused as `agent_bad_answer`, so
 * nobody but the registered agent can complete its step. KLP has no cancel type: a cancel (or timeout) sends a
 * signed `status_update {status: "cancel", taskId, stepId}` correlated to the request, then closes the exchange
 * (the agent also stops when its connection goes). See docs/agents/klp-agents.md.
 */
import { AGENT_METADATA_KEY, AgentRecordMetadataSchema, klp } from "@kai/protocol";
import type { RegistryService } from "../../../registry/registry-service.js";
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";
import { withTraceHeaders } from "../../../tracing/spans.js";

/** Bounds on what an agent may send back: one envelope, and the whole exchange. */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_EXCHANGE_BYTES = 8 * 1024 * 1024;
const MAX_MESSAGE = 300;
const CANCEL_TIMEOUT_MS = 2000;

/** A `status_update` the agent sent while working, for the task's progress events. */
export interface KlpStepProgress {
  taskId: string;
  stepId: string;
  agent: string;
  status: string;
  progress?: number;
  detail?: string;
}

export interface KlpDispatcherDeps {
  /** The node's key pair (throws while the vault holds it sealed: the step then fails as unreachable). */
  identity: () => klp.KlpKeyPair;
  /** Where the agent's DID is read from, as the task's owner. */
  registry: Pick<RegistryService, "get">;
  /** Where `status_update`s go (kCore's TASK_PROGRESS); absent: they are only checked, not reported. */
  onProgress?: (update: KlpStepProgress) => void;
  now?: () => number;
}

/** The KLP message endpoint under an agent's base URL. */
export function klpMessageUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/klp/message`;
}

const short = (text: string) => text.slice(0, MAX_MESSAGE);

export function createKlpDispatcher(deps: KlpDispatcherDeps): StepDispatcher {
  // One memory of answer ids per dispatcher: an agent's answer replayed (to this or another step) is refused.
  const replayCache = new klp.ReplayCache();

  async function agentDid(assignee: Extract<Assignee, { kind: "agent" }>, request: StepDispatch): Promise<string> {
    let metadata: unknown;
    try {
      metadata = (await deps.registry.get(request.principal, assignee.id)).metadata?.[AGENT_METADATA_KEY];
    } catch {
      throw new DispatchError("agent_unreachable", `${assignee.id} is no longer registered`);
    }
    const parsed = AgentRecordMetadataSchema.safeParse(metadata);
    const did = parsed.success ? parsed.data.did : undefined;
    if (!did || !klp.publicKeyFromDid(did)) throw new DispatchError("agent_unreachable", `${assignee.id} has no DID to verify its answers with`);
    return did;
  }

  function sendCancel(url: string, identity: klp.KlpKeyPair, did: string, requestId: string, request: StepDispatch): void {
    const envelope = klp.createEnvelope(
      { type: "status_update", to: did, payload: { status: "cancel", taskId: request.taskId, stepId: request.stepId }, metadata: { correlationId: requestId } },
      identity,
    );
    // Best effort: the exchange is closed right after anyway, which the agent sees too.
    void fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(envelope), signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS), redirect: "error" })
      .then((response) => response.body?.cancel())
      .catch(() => undefined);
  }

  return {
    async dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      if (assignee.kind !== "agent" || !assignee.url) throw new DispatchError("agent_unreachable", `${assignee.id} has no endpoint URL`);
      const did = await agentDid(assignee, request);
      let identity: klp.KlpKeyPair;
      try {
        identity = deps.identity();
      } catch {
        throw new DispatchError("agent_unreachable", "the node key is sealed: KLP requests cannot be signed");
      }
      const url = klpMessageUrl(assignee.url);
      const envelope = klp.createEnvelope(
        {
          type: "task_request",
          to: did,
          payload: {
            taskId: request.taskId,
            capability: request.capability,
            parameters: request.input,
            planId: request.planId,
            stepId: request.stepId,
            ...(request.answer !== undefined ? { answer: request.answer } : {}),
          },
        },
        identity,
      );
      const exchange = new AbortController();
      const onAbort = () => {
        sendCancel(url, identity, did, envelope.id, request);
        exchange.abort();
      };
      if (request.signal.aborted) throw request.signal.reason ?? new DispatchError("canceled", "canceled");
      request.signal.addEventListener("abort", onAbort, { once: true });
      const context: klp.AcceptContext = {
        replayCache,
        ...(deps.now ? { now: deps.now } : {}),
        trust: (answer) => (answer.from === did ? { ok: true } : { ok: false, code: "KLP_UNKNOWN_SENDER", message: "not the agent's key" }),
        recipientExists: (address) => address.kind === "did" && address.did === identity.did,
      };
      try {
        let response: Response;
        try {
          response = await fetch(url, {
            method: "POST",
            // With the step's `traceparent` when the task is traced (tracing/spans.ts).
            headers: withTraceHeaders({ "content-type": "application/json", accept: "application/x-ndjson, application/json", "x-kai-task-id": request.taskId }),
            body: JSON.stringify(envelope),
            signal: exchange.signal,
            redirect: "error",
          });
        } catch (error) {
          if (request.signal.aborted) throw request.signal.reason ?? error;
          throw new DispatchError("agent_unreachable", `${assignee.id} could not be reached`);
        }
        try {
          for await (const line of lines(response)) {
            const accepted = await klp.acceptText(line, context);
            if (!accepted.ok) throw new DispatchError("agent_bad_answer", `${assignee.id}'s answer was refused (${accepted.error.code}: ${short(accepted.error.message)})`);
            const answer = accepted.envelope;
            if (answer.metadata?.correlationId !== envelope.id) throw new DispatchError("agent_bad_answer", `${assignee.id} answered another request`);
            const outcome = interpret(answer, assignee.id, request, deps.onProgress);
            if (outcome) return outcome;
          }
        } catch (error) {
          if (request.signal.aborted) throw request.signal.reason ?? error;
          if (error instanceof DispatchError) throw error;
          // The connection went mid-answer (the agent stopped or was killed): another agent may take the step.
          throw new DispatchError("agent_unreachable", `${assignee.id} closed the exchange before answering`);
        }
        throw new DispatchError("agent_bad_answer", `${assignee.id} ended the exchange without a task_result or task_error`);
      } finally {
        request.signal.removeEventListener("abort", onAbort);
        exchange.abort();
      }
    },
  };
}


/** One verified answer envelope: the step's outcome, or undefined to read on (a progress update). */
function interpret(answer: klp.KlpEnvelope, agent: string, request: StepDispatch, onProgress: KlpDispatcherDeps["onProgress"]): DispatchOutcome | undefined {
  const payload = answer.payload as Record<string, unknown>;
  if (answer.type !== "error" && payload.taskId !== request.taskId) throw new DispatchError("agent_bad_answer", `${agent} answered for another task`);
  switch (answer.type) {
    case "status_update": {
      const update = answer.payload as klp.KlpPayload<"status_update">;
      const report = {
        status: short(update.status),
        ...(update.progress !== undefined ? { progress: update.progress } : {}),
        ...(update.detail !== undefined ? { detail: short(update.detail) } : {}),
      };
      onProgress?.({ taskId: request.taskId, stepId: request.stepId, agent, ...report });
      request.progress?.(report);
      return undefined;
    }
    case "task_result": {
      const result = answer.payload as klp.KlpPayload<"task_result">;
      const prompt = (payload.inputRequired as { prompt?: unknown } | undefined)?.prompt;
      if (result.status === "partial" && typeof prompt === "string") return { kind: "input-required", prompt: prompt.slice(0, 4000) };
      if (result.status === "success") return { kind: "output", output: result.result ?? null };
      throw new DispatchError("agent_error", `${agent} failed the step${result.error ? `: ${short(result.error)}` : ""}`);
    }
    case "task_error": {
      const failure = answer.payload as klp.KlpPayload<"task_error">;
      throw new DispatchError("agent_error", `${agent} failed the step (${short(failure.code)}): ${short(failure.message)}`);
    }
    case "error": {
      const refusal = answer.payload as { code?: unknown; message?: unknown };
      throw new DispatchError("agent_error", `${agent} refused the request (${String(refusal.code)}): ${short(String(refusal.message))}`);
    }
    default:
      throw new DispatchError("agent_bad_answer", `${agent} answered with a ${answer.type} message`);
  }
}

/** The answer's lines (NDJSON; a plain JSON answer is one line), each bounded, the whole exchange bounded. */
async function* lines(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let buffered = "";
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > MAX_EXCHANGE_BYTES) throw new DispatchError("agent_bad_answer", `the agent answered more than ${MAX_EXCHANGE_BYTES} bytes`);
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line.length > 0) yield line;
    }
    if (buffered.length > MAX_LINE_BYTES) throw new DispatchError("agent_bad_answer", `an answer line is longer than ${MAX_LINE_BYTES} bytes`);
  }
  buffered += decoder.decode();
  if (buffered.trim().length > 0) yield buffered.trim();
}
