/**
 * @module agents/kcore/dispatch/http-dispatcher
 * The plain-HTTP transport: POSTs `{taskId, planId, stepId, capability, input, answer?}` as JSON to the agent's
 * endpoint URL, with the step's AbortSignal (a cancel or a timeout closes the request: the agent sees it go). The
 * agent answers 2xx with `{output}` or `{inputRequired: {prompt}}`; any other status (a redirect too: it is not
 * followed) is the step's failure. The answer is read up to a bound (agent-post.ts, the exchange itself), and an
 * agent's error text is never copied beyond a short message.
 */
import { parseJson } from "@kai/protocol";
import type { Assignee } from "../assignment.js";
import { AnswerTooLarge, ExchangeFailed, postJson, type AgentAnswer } from "./agent-post.js";
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
      let answered: AgentAnswer;
      try {
        answered = await postJson(
          assignee.url,
          JSON.stringify(body),
          { "content-type": "application/json", accept: "application/json", "x-kai-task-id": request.taskId },
          request.signal,
          MAX_ANSWER_BYTES,
        );
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        if (error instanceof AnswerTooLarge) throw new DispatchError("agent_bad_answer", `${assignee.id} answered more than ${MAX_ANSWER_BYTES} bytes`);
        const status = error instanceof ExchangeFailed ? error.answered : null;
        // The answer began but did not arrive whole: a refusal is still the agent's error, a success is a bad answer.
        if (status !== null) throw new DispatchError(status < 300 ? "agent_bad_answer" : "agent_error", `${assignee.id} answered ${status} and then broke off`);
        throw new DispatchError("agent_unreachable", `${assignee.id} could not be reached`);
      }
      const ok = answered.status >= 200 && answered.status < 300;
      let parsed: unknown;
      if (answered.text.length > 0) {
        const json = parseJson(answered.text);
        if (json.ok) parsed = json.value;
        else if (ok) throw new DispatchError("agent_bad_answer", `${assignee.id} answered something that is not JSON`);
      }
      if (!ok) {
        const message = shortMessage(parsed);
        throw new DispatchError("agent_error", `${assignee.id} answered ${answered.status}${message ? `: ${message}` : ""}`);
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
