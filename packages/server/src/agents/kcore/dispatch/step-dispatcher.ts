/**
 * @module agents/kcore/dispatch/step-dispatcher
 * How kCore hands one step to whoever runs it, one dispatcher per transport (HTTP and gateway now; KLP, A2A and
 * MCP plug into the same switch, dispatchers.ts). A dispatcher answers with the step's output or a question
 * (input-required), or throws `DispatchError`; it stops at once when the signal aborts (cancel, timeout, shutdown),
 * so cancellation reaches the agent.
 */
import type { Principal } from "../../../auth/principal.js";
import type { Assignee } from "../assignment.js";

export interface StepDispatch {
  taskId: string;
  planId: string;
  stepId: string;
  capability: string;
  input: Record<string, unknown>;
  /** The answer to this step's earlier input-required question, when it runs again after one. */
  answer?: unknown;
  /** The handle the dispatcher gave with that question (stored on the step run, so it outlives a restart). */
  resume?: StepResume;
  principal: Principal;
  signal: AbortSignal;
  /** Where the assignee's progress reports go while it works (kCore turns them into TASK_PROGRESS events). */
  progress?(update: StepProgress): void;
}

/** A progress report of an assignee on its step (KLP's `status_update`, an A2A status message, …). */
export interface StepProgress {
  status: string;
  /** 0 to 1. */
  progress?: number;
  detail?: string;
}

export type DispatchOutcome =
  | { kind: "output"; output: unknown; /** Who actually answered (a gateway call names the service it reached). */ assignee?: string }
  | { kind: "input-required"; prompt: string; /** The transport's handle on the waiting remote work (e.g. an A2A task id), kept on the step run. */ resume?: StepResume };

/**
 * A dispatcher's handle on remote work a step waits on, stored as JSON on the step run (small: ids, not data).
 * `transport` says whose it is, so kCore's switch brings it back to the same dispatcher, also after a restart.
 */
export type StepResume = { readonly transport: string } & Readonly<Record<string, unknown>>;

/** A step attempt that failed; `code` is stable (agent_error, agent_unreachable, agent_bad_answer, step_timeout, …). */
export class DispatchError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DispatchError";
  }
}

export interface StepDispatcher {
  dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome>;
  /** The step waiting on `resume` will not run again (its task was canceled or failed): end the remote work. */
  abandon?(resume: StepResume): Promise<void>;
}
