/**
 * @module agents/kcore/review-step
 * kCore's side of kReviewer (the runner calls these at its two hooks): a `review: true` step's output is reviewed
 * before the step completes (so its dependants never see an unchecked output), and with `constraints.review` the
 * task's aggregated result is reviewed before the task completes. Each review is recorded on the step run (or the
 * task) and announced: TASK_PROGRESS with stepState "reviewing", then one with the verdict. A rejected step goes back
 * to "pending" (its assignee excluded, so the retry goes to another) while retries remain, else fails
 * `review_rejected`; with no reviewer the step or task fails `reviewer_unavailable`. The reasons of a rejection reach
 * the next attempt's agent in its input (`reviewFeedback`).
 */
import type { AgentTransport, PlanStep, Review, StepRun } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { NewTaskEvent, TaskRecord } from "../../storage/contracts/task-store.js";
import type { Assignee } from "./assignment.js";
import { ReviewerUnavailable, type ReviewOutcome, type ReviewSubject, type StepReviewer } from "./review.js";
import { KCORE_AGENT, taskEvent } from "./task-events.js";

/** The task error codes a review ends a task with (the runner keeps them instead of a generic `step_failed`). */
export const REVIEW_ERROR_CODES: ReadonlySet<string> = new Set(["review_rejected", "reviewer_unavailable"]);

/** Transports whose agents get `reviewFeedback` in their input (an MCP tool's input schema may refuse unknown keys; a gateway call's input is the request itself). */
const FEEDBACK_TRANSPORTS: ReadonlySet<AgentTransport> = new Set(["http", "klp", "a2a"]);

export interface ReviewHookContext {
  reviewer: StepReviewer;
  record: TaskRecord;
  principal: Principal;
  /** The task's signal: a cancel, deadline or shutdown stops the review. */
  signal: AbortSignal;
  commit(events: NewTaskEvent[]): Promise<void>;
}

export type ReviewHookResult =
  | { kind: "approved" }
  | { kind: "rejected"; willRetry: boolean; error: { code: string; message: string } }
  | { kind: "unavailable"; error: { code: string; message: string } }
  | { kind: "stopped" };

const now = () => new Date().toISOString();

/** The reasons of the verdicts that rejected this step so far (kept on the run's review while it retries). */
function previousReasons(run: StepRun): string[] {
  return run.review?.state === "rejected" ? (run.review.reasons ?? []) : [];
}

async function ask(context: ReviewHookContext, subject: Omit<ReviewSubject, "taskId" | "planId" | "goal" | "principal" | "signal" | "allowedAgents">): Promise<ReviewOutcome | ReviewerUnavailable | "stopped"> {
  const { task, spec } = context.record;
  try {
    return await context.reviewer.review({
      ...subject,
      taskId: task.id,
      planId: task.planId ?? "",
      goal: task.goal,
      principal: context.principal,
      signal: context.signal,
      ...(spec.constraints?.agents ? { allowedAgents: spec.constraints.agents } : {}),
    });
  } catch (error) {
    if (context.signal.aborted) return "stopped";
    if (error instanceof ReviewerUnavailable) return error;
    return new ReviewerUnavailable("the review could not be carried out");
  }
}

function verdictOf(outcome: ReviewOutcome, attempt?: number): Review {
  return {
    state: outcome.verdict.approved ? "approved" : "rejected",
    reviewer: outcome.reviewer,
    reasons: outcome.verdict.reasons,
    ...(outcome.verdict.score !== undefined ? { score: outcome.verdict.score } : {}),
    ...(attempt !== undefined ? { attempt } : {}),
    at: now(),
  };
}

function rejection(review: Review): string {
  const reasons = review.reasons && review.reasons.length > 0 ? review.reasons.join("; ") : "no reason given";
  return `${review.reviewer ?? "the reviewer"} rejected the output: ${reasons}`.slice(0, 2000);
}

/**
 * Reviews a step's output before it is accepted. On "approved" the caller completes the step as usual; on a
 * rejection with a retry left the step is pending again (the caller runs the next attempt); otherwise the step has
 * failed and the caller fails the task with the returned error.
 */
export async function reviewStepOutput(
  context: ReviewHookContext,
  step: PlanStep,
  run: StepRun,
  /** `id`: the assignee (excluded from the retry); `author`: who answered (a gateway call names its service): never its own reviewer. */
  assignee: { id: string; author: string },
  output: unknown,
  input: Record<string, unknown>,
): Promise<ReviewHookResult> {
  const { task, spec } = context.record;
  const previous = previousReasons(run);
  run.review = { state: "reviewing", attempt: run.attempts, at: now() };
  await context.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: step.id, stepState: "reviewing", assignee: assignee.author, attempt: run.attempts })]);
  const outcome = await ask(context, {
    step: { id: step.id, capability: step.capability, description: step.description, input },
    output,
    author: assignee.author,
    ...(previous.length > 0 ? { previous } : {}),
  });
  if (outcome === "stopped") return { kind: "stopped" };
  if (outcome instanceof ReviewerUnavailable) {
    const error = { code: outcome.code, message: outcome.message };
    delete run.review;
    run.state = "failed";
    run.error = error;
    run.finishedAt = now();
    await context.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: step.id, stepState: "failed", error })]);
    return { kind: "unavailable", error };
  }
  const review = verdictOf(outcome, run.attempts);
  if (review.state === "approved") {
    run.review = review;
    await context.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: step.id, stepState: "reviewed", review })]);
    return { kind: "approved" };
  }
  // The reasons of every rejection so far go to the next attempt (and to the next reviewer).
  run.review = { ...review, reasons: [...previous, ...(review.reasons ?? [])].slice(-20) };
  (spec.excluded[step.id] ??= []).push(assignee.id);
  const willRetry = run.attempts <= step.retries;
  const error = { code: "review_rejected", message: rejection(review) };
  run.error = error;
  run.state = willRetry ? "pending" : "failed";
  if (!willRetry) run.finishedAt = now();
  await context.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: step.id, stepState: run.state, review, error, willRetry })]);
  return { kind: "rejected", willRetry, error };
}

/** Reviews the task's aggregated result (`constraints.review`) before it becomes the task's; not retried (the steps each were). */
export async function reviewTaskResult(context: ReviewHookContext, result: unknown): Promise<ReviewHookResult> {
  const { task } = context.record;
  task.review = { state: "reviewing", at: now() };
  await context.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, reviewing: "result" })]);
  const outcome = await ask(context, { output: result });
  if (outcome === "stopped") return { kind: "stopped" };
  if (outcome instanceof ReviewerUnavailable) {
    delete task.review;
    return { kind: "unavailable", error: { code: outcome.code, message: outcome.message } };
  }
  const review = verdictOf(outcome);
  task.review = review;
  await context.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, review })]);
  if (review.state === "approved") return { kind: "approved" };
  return { kind: "rejected", willRetry: false, error: { code: "review_rejected", message: rejection(review) } };
}

/** A step's input for its next attempt: with the reasons its output was rejected, for an agent that can read them. */
export function reviewFeedback(input: Record<string, unknown>, run: StepRun, assignee: Assignee): Record<string, unknown> {
  if (run.review?.state !== "rejected" || assignee.kind !== "agent" || !FEEDBACK_TRANSPORTS.has(assignee.transport)) return input;
  return { ...input, reviewFeedback: { rejected: true, reasons: run.review.reasons ?? [] } };
}
