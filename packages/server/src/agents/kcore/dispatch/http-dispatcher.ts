/**
 * @module agents/kcore/dispatch/http-dispatcher
 * The plain-HTTP transport: POSTs `{taskId, planId, stepId, capability, input, answer?}` as JSON to the agent's
 * endpoint URL, with the step's AbortSignal (a cancel or a timeout closes the request: the agent sees it go). The
 * agent answers 2xx with `{output}` or `{inputRequired: {prompt}}`; any other status is the step's failure. The
 * answer is read up to a bound, and an agent's error text is never copied beyond a short message.
 */
import { parseJson } from "@kai/protocol";
import { collectBounded, decodeText } from "../../../bounded-read.js";
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const MAX_MESSAGE = 300;

function shortMessage(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  const message = typeof error === "string" ? error : (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message.slice(0, MAX_MESSAGE) : undefined;
}

export function createHttpDispatcher(): StepDispatcher {
  return {
    async dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      if (assignee.kind !== "agent" || !assignee.url) throw new DispatchError("agent_unreachable", `${assignee.id} has no endpoint URL`);
      const body = {
        taskId: request.taskId,
        planId: request.planId,
        stepId: request.stepId,
        capability: request.capability,
        input: request.input,
        ...(request.answer !== undefined ? { answer: request.answer } : {}),
      };
      let response: Response;
      try {
        response = await fetch(assignee.url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json", "x-kai-task-id": request.taskId },
          body: JSON.stringify(body),
          signal: request.signal,
          redirect: "error",
        });
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        throw new DispatchError("agent_unreachable", `${assignee.id} could not be reached`);
      }
      let parsed: unknown;
      try {
        const read = await collectBounded(
          (response.body ?? []) as AsyncIterable<Uint8Array>,
          response.headers.get("content-length"),
          MAX_ANSWER_BYTES,
          () => new DispatchError("agent_bad_answer", `${assignee.id} answered more than ${MAX_ANSWER_BYTES} bytes`),
          () => void response.body?.cancel().catch(() => undefined),
        );
        const text = decodeText(read.chunks, read.length);
        if (text.length > 0) {
          const json = parseJson(text);
          if (!json.ok) throw new SyntaxError(json.error);
          parsed = json.value;
        }
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        if (error instanceof DispatchError) throw error;
        if (!response.ok) throw new DispatchError("agent_error", `${assignee.id} answered ${response.status}`);
        throw new DispatchError("agent_bad_answer", `${assignee.id} answered something that is not JSON`);
      }
      if (!response.ok) {
        const message = shortMessage(parsed);
        throw new DispatchError("agent_error", `${assignee.id} answered ${response.status}${message ? `: ${message}` : ""}`);
      }
      const answer = parsed as { output?: unknown; inputRequired?: { prompt?: unknown } } | undefined;
      if (answer && typeof answer === "object" && answer.inputRequired && typeof answer.inputRequired.prompt === "string") {
        return { kind: "input-required", prompt: answer.inputRequired.prompt.slice(0, 4000) };
      }
      if (answer && typeof answer === "object" && "output" in answer) return { kind: "output", output: answer.output };
      throw new DispatchError("agent_bad_answer", `${assignee.id} answered neither {output} nor {inputRequired}`);
    },
  };
}
