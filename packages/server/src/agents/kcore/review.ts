/**
 * @module agents/kcore/review
 * kReviewer: checks an output (a `review: true` step's, or a task's aggregated result) before anything relies on it.
 * First a reviewer agent found by capability (`review`) in the registry, as the task's owner, never the agent whose
 * output it is; a reviewer that fails or answers something other than a verdict is passed over for the next one (up
 * to MAX_REVIEWER_AGENTS). With none, the node's own reviewer asks a language model through the gateway
 * (review-model.ts). With neither, `ReviewerUnavailable`: an output asked to be reviewed is never passed unchecked.
 */
import { PlanStepSchema, REVIEW_CAPABILITY, ReviewVerdictSchema, type ReviewVerdict } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { GatewayPort } from "../../http/front-doors/gateway-port.js";
import type { Logger } from "../../logging/logger.js";
import { findAssignee, type AssignmentDeps } from "./assignment.js";
import { DispatchError, type StepDispatcher } from "./dispatch/step-dispatcher.js";
import { askModelForVerdict } from "./review-model.js";

/** The node's own reviewer's id on the bus and on verdicts (a model asked through the gateway). */
export const KREVIEWER_AGENT = "kReviewer:main";
/** Reviewer agents tried for one review before the model is asked. */
const MAX_REVIEWER_AGENTS = 3;
/** A reviewer agent's answer time when its manifest gives none. */
const DEFAULT_REVIEW_TIMEOUT_MS = 60_000;

/** What is reviewed: one step's output (with what it was asked), or the task's result (no `step`). */
export interface ReviewSubject {
  taskId: string;
  planId: string;
  goal: string;
  step?: { id: string; capability: string; description: string; input: Record<string, unknown> };
  output: unknown;
  /** Who produced the output: never its own reviewer. */
  author?: string;
  /** Reasons of earlier rejections of this step (the reviewer sees what was already asked for). */
  previous?: string[];
  /** Only these agents may be given work (the task's `constraints.agents`). */
  allowedAgents?: readonly string[];
  principal: Principal;
  signal: AbortSignal;
}

export interface ReviewOutcome {
  verdict: ReviewVerdict;
  /** The reviewer agent's id, or `kReviewer:main (<service>)` for the model. */
  reviewer: string;
}

export interface StepReviewer {
  review(subject: ReviewSubject): Promise<ReviewOutcome>;
}

/** No reviewer agent and no language model could review: the task fails `reviewer_unavailable`. */
export class ReviewerUnavailable extends Error {
  readonly code = "reviewer_unavailable";
  constructor(message: string) {
    super(message);
    this.name = "ReviewerUnavailable";
  }
}

export interface KReviewerDeps {
  dispatchers: StepDispatcher;
  assignment: AssignmentDeps;
  /** The node's gateway (for the model reviewer); absent: only reviewer agents can review. */
  gateway?: Pick<GatewayPort, "route" | "models">;
  /** The model asked; absent: the first chat model the task's owner may use. */
  model?: string;
  logger: Logger;
}

/** A step of capability `review`, for discovery only. */
const REVIEW_STEP = PlanStepSchema.parse({ id: "review", capability: REVIEW_CAPABILITY });

/** What a reviewer agent is sent as its step's input. */
export function reviewRequest(subject: ReviewSubject): Record<string, unknown> {
  return {
    goal: subject.goal,
    ...(subject.step ? { step: subject.step } : { result: true }),
    output: subject.output,
    ...(subject.previous && subject.previous.length > 0 ? { previous: subject.previous } : {}),
  };
}

export class KReviewer implements StepReviewer {
  constructor(private readonly deps: KReviewerDeps) {}

  async review(subject: ReviewSubject): Promise<ReviewOutcome> {
    const byAgent = await this.reviewByAgent(subject);
    if (byAgent) return byAgent;
    if (!this.deps.gateway) throw new ReviewerUnavailable(`no healthy agent offering "${REVIEW_CAPABILITY}" could review, and this node has no language model to review with`);
    const answer = await askModelForVerdict({ gateway: this.deps.gateway, ...(this.deps.model !== undefined ? { model: this.deps.model } : {}), logger: this.deps.logger }, subject);
    return { verdict: answer.verdict, reviewer: `${KREVIEWER_AGENT} (${answer.serviceId})` };
  }

  private async reviewByAgent(subject: ReviewSubject): Promise<ReviewOutcome | undefined> {
    const tried: string[] = subject.author !== undefined ? [subject.author] : [];
    for (let round = 0; round < MAX_REVIEWER_AGENTS; round++) {
      const assignee = await findAssignee(this.deps.assignment, REVIEW_STEP, subject.principal, tried, subject.allowedAgents).catch(() => null);
      if (subject.signal.aborted) throw subject.signal.reason;
      if (!assignee || assignee.kind !== "agent") return undefined;
      tried.push(assignee.id);
      const controller = new AbortController();
      const onAbort = () => controller.abort(subject.signal.reason);
      subject.signal.addEventListener("abort", onAbort, { once: true });
      const timeoutMs = assignee.stepTimeoutMs ?? DEFAULT_REVIEW_TIMEOUT_MS;
      const timer = setTimeout(() => controller.abort(new DispatchError("step_timeout", `no verdict within ${timeoutMs} ms`)), timeoutMs);
      const release = this.deps.assignment.load.add(assignee.id, subject.taskId);
      try {
        const outcome = await this.deps.dispatchers.dispatch(assignee, {
          taskId: subject.taskId,
          planId: subject.planId,
          stepId: subject.step?.id ?? "result",
          capability: REVIEW_CAPABILITY,
          input: reviewRequest(subject),
          principal: subject.principal,
          signal: controller.signal,
        });
        const verdict = outcome.kind === "output" ? ReviewVerdictSchema.safeParse(outcome.output) : undefined;
        if (verdict?.success) return { verdict: verdict.data, reviewer: assignee.id };
        this.deps.logger.warn({ reviewer: assignee.id }, "a reviewer agent answered no verdict; asking another");
      } catch (error) {
        if (subject.signal.aborted) throw subject.signal.reason ?? error;
        this.deps.logger.warn({ reviewer: assignee.id, code: error instanceof DispatchError ? error.code : "dispatch_failed" }, "a reviewer agent failed; asking another");
      } finally {
        clearTimeout(timer);
        subject.signal.removeEventListener("abort", onAbort);
        release();
      }
    }
    return undefined;
  }
}
