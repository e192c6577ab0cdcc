/**
 * @module agents/kcore/task-runner
 * Carries out one task's plan: a step starts once every step it depends on completed, independent steps run in
 * parallel; each attempt goes to an assignee (assignment.ts) through its transport's dispatcher with an AbortSignal
 * (step timeout, task cancel, task deadline, node shutdown); a failed attempt is retried on another assignee while
 * the step has retries left; a step may ask a question (input-required) and waits for the answer; the task
 * completes with the outputs of the steps nothing depends on. Every change is committed to the store with its
 * event(s) in order (one commit chain per task) and only then published on the bus.
 */
import { setMaxListeners } from "node:events";
import type { BusEvent, PlanStep, StepRun, Task, TaskState } from "@kai/protocol";
import type { Logger } from "../../logging/logger.js";
import type { EventBus } from "../../bus/event-bus.js";
import type { Principal } from "../../auth/principal.js";
import { TaskFencedError, TaskMissingError, type NewTaskEvent, type TaskRecord, type TaskStore } from "../../storage/contracts/task-store.js";
import { ApiError } from "../../errors.js";
import { findAssignee, type Assignee, type AssignmentDeps } from "./assignment.js";
import type { LoadTracker } from "./agent-load.js";
import type { Dispatchers } from "./dispatch/dispatchers.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepResume } from "./dispatch/step-dispatcher.js";
import { context } from "@opentelemetry/api";
import { inSpan, tracingOf } from "../../tracing/spans.js";
import { stepInput } from "./step-input.js";
import { withPrompt, type PinnedPrompt, type TaskPromptPort } from "./task-prompt.js";
import { storeStepArtifacts, type StepArtifactsPort } from "./step-artifacts.js";
import { KCORE_AGENT, taskEvent } from "./task-events.js";
import { TaskCommitter } from "./task-commits.js";
import type { GatewayPort } from "../../http/front-doors/gateway-port.js";
import { KReviewer, type StepReviewer } from "./review.js";
import { REVIEW_ERROR_CODES, reviewFeedback, reviewStepOutput, reviewTaskResult, type ReviewHookContext } from "./review-step.js";

/** Progress reports stored per step attempt; later ones are dropped. */
const PROGRESS_LIMIT = 100;

export interface RunnerDeps {
  store: TaskStore;
  bus: EventBus;
  logger: Logger;
  dispatchers: Dispatchers;
  assignment: AssignmentDeps;
  load: LoadTracker;
  defaultStepTimeoutMs: number;
  /**
   * `agents.tasks.stepTimeoutMs` when the assignee's overrides file sets it (its view of the configuration), read per
   * step; undefined otherwise. Above the agent's manifest: the operator's file overrides what the agent says of itself.
   */
  stepTimeoutFor?: (assigneeId: string) => number | undefined;
  onFinished(taskId: string): void;
  /** kReviewer's model path (review.ts): without it only reviewer agents review. */
  gateway?: Pick<GatewayPort, "route" | "models">;
  /** Who reviews `review: true` steps and reviewed results (default: a KReviewer over these deps). */
  reviewer?: StepReviewer;
  /** Renders the task's prompt into its step's input at dispatch (task-prompt.ts). */
  prompts?: TaskPromptPort;
  /** Stores the files a step's output carries as artifacts (step-artifacts.ts); absent, outputs stay as they are. */
  artifacts?: StepArtifactsPort;
  /**
   * Settles once the task's create events are published (a runner started before its create was stored,
   * task-engine.ts): this runner's events are published after them, in order.
   */
  publishAfter?: Promise<void>;
}

type AttemptResult = DispatchOutcome | { kind: "error"; code: string; message: string } | { kind: "stopped" };

const now = () => new Date().toISOString();
const ACTIVE_STEP_STATES: readonly StepRun["state"][] = ["pending", "running", "input-required"];

/** A step run as stored: the question it asks, and its dispatcher's handle on the remote work that waits (A2A task). */
type StoredRun = StepRun & { prompt?: string; resume?: StepResume };

export class TaskRunner {
  private readonly abort = new AbortController();
  private readonly active = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  private committer: TaskCommitter | undefined;
  private finished = false;
  private deadline: NodeJS.Timeout | undefined;
  /** The result is being reviewed (complete() runs once even when two last steps end together). */
  private completing = false;
  /** A commit failed and stopped the runner (commitFailed). */
  private stoppedByCommit = false;
  readonly principal: Principal;
  /** Until the create's events are published (RunnerDeps.publishAfter): what is stored meanwhile is published after. */
  private publishGate: Promise<void> | undefined;
  /** Where the task was created (the request's traced context, when there is one): its steps' spans are children of it. */
  private readonly traceParent = context.active();
  /**
   * Settles once every step that the first schedule started has been handed to its dispatcher, has ended without
   * being sent, or the runner stopped. The engine answers a new task's creator after that (task-engine.ts).
   */
  readonly firstStepsSent: Promise<void>;
  /** The first schedule's steps: `open` while it runs, `left` until each was sent or ended. */
  private readonly firstWave: { open: boolean; left: number; settle: () => void };

  constructor(
    private readonly record: TaskRecord,
    private readonly deps: RunnerDeps,
  ) {
    let settle!: () => void;
    this.firstStepsSent = new Promise<void>((resolve) => (settle = resolve));
    this.firstWave = { open: false, left: 0, settle };
    // Every running step listens on the task's signal (up to a plan's 100 steps at once): not a leak. (Under the web
    // app's component tests the node runs in jsdom, whose AbortSignal Node's setMaxListeners does not accept.)
    try {
      setMaxListeners(0, this.abort.signal);
    } catch {
      // not Node's EventTarget: it has no listener-leak warning to quiet
    }
    if (deps.publishAfter) {
      const gate = deps.publishAfter.then(() => {
        // Batches stored while it was closed were chained on it above, in order; later ones publish at once.
        if (this.publishGate === gate) this.publishGate = undefined;
      });
      this.publishGate = gate;
    }
    const p = record.spec.principal;
    // The owner's rights as of the create (kept for restarts); the task's own life is bounded by its deadline.
    this.principal = {
      tokenId: p.tokenId,
      owner: p.owner,
      scopes: p.scopes,
      expiresAt: Number.MAX_SAFE_INTEGER,
      ...(p.userId ? { userId: p.userId } : {}),
      ...(p.secretPatterns ? { secretPatterns: p.secretPatterns } : {}),
    };
  }

  get task(): Task {
    return this.record.task;
  }

  /** Starts (or, after a restart, resumes) the task. `resumed`: steps that were running when the node stopped run again or fail. */
  async start(resumed = false): Promise<void> {
    const { task, spec } = this.record;
    if (spec.deadlineAt !== undefined) {
      const left = spec.deadlineAt - Date.now();
      if (left <= 0) return this.finish("failed", { code: "task_deadline_exceeded", message: "the task's deadline passed" });
      this.deadline = setTimeout(() => void this.finish("failed", { code: "task_deadline_exceeded", message: `the task ran longer than ${spec.constraints?.deadlineMs} ms` }), left);
      this.deadline.unref();
    }
    const events: NewTaskEvent[] = [];
    if (resumed) {
      for (const run of task.steps) {
        if (run.state !== "running") continue;
        const step = this.stepOf(run.id);
        run.error = { code: "interrupted", message: "the node stopped while the step ran" };
        if (run.attempts <= step.retries) run.state = "pending";
        else {
          run.state = "failed";
          run.finishedAt = now();
        }
        events.push(taskEvent("AGENT_ERROR", task.planId, run.assignee ?? KCORE_AGENT, { step: run.id, error: run.error, attempt: run.attempts, willRetry: run.state === "pending" }));
      }
    }
    if (task.state === "submitted") task.state = "working";
    events.push(taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, ...(resumed ? { resumed: true } : {}) }));
    const started = this.commit(events);
    // Scheduled at once: the first steps' "running" changes join this write (each step is sent only once its own
    // commit, queued after this one, is stored).
    this.firstWave.open = true;
    this.schedule();
    this.firstWave.open = false;
    if (this.firstWave.left === 0) this.firstWave.settle();
    await started;
  }

  /** Cancels the task: in-flight dispatches are aborted (the agents see their requests close). */
  async cancel(): Promise<void> {
    await this.finish("canceled", { code: "canceled", message: "canceled by the caller" });
  }

  /** Answers the task's input-required question; the step asking runs again with the answer, on the same assignee if it can. */
  async answer(value: unknown): Promise<void> {
    const { task, spec } = this.record;
    const question = task.question;
    if (this.finished || task.state !== "input-required" || !question) throw new ApiError("task_not_waiting", `task is ${task.state}, not waiting for input`);
    const run = this.runOf(question.step);
    spec.answers[question.step] = value;
    run.state = "pending";
    const next = task.steps.find((other) => other.state === "input-required");
    if (next) task.question = { step: next.id, prompt: (next as StepRun & { prompt?: string }).prompt ?? "" };
    else {
      delete task.question;
      task.state = "working";
    }
    const committed = this.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: run.id, stepState: "pending", answered: true })]);
    // Marked active at once (its commits queue after this one): the scheduler must not start it a second time meanwhile.
    void this.runStep(this.stepOf(run.id), run.assignee);
    await committed;
  }

  /** Stops without recording anything (node shutdown): the stored task stays as it was, and a restart resumes it. */
  async halt(): Promise<void> {
    this.finished = true;
    this.firstWave.settle();
    if (this.deadline) clearTimeout(this.deadline);
    this.abort.abort(new Error("the node is shutting down"));
    await this.chain;
  }

  // ---- scheduling ----

  private stepOf(id: string): PlanStep {
    return this.record.task.plan!.steps.find((step) => step.id === id)!;
  }

  private runOf(id: string): StepRun {
    return this.record.task.steps.find((run) => run.id === id)!;
  }

  private schedule(): void {
    if (this.finished) return;
    const runs = this.record.task.steps;
    const failed = runs.find((run) => run.state === "failed");
    if (failed) {
      // A review's verdict is the task's reason (review_rejected, reviewer_unavailable); any other failure is step_failed.
      const code = failed.error && REVIEW_ERROR_CODES.has(failed.error.code) ? failed.error.code : "step_failed";
      void this.finish("failed", { code, message: `step "${failed.id}" failed: ${failed.error?.message ?? "no reason given"}` });
      return;
    }
    if (runs.every((run) => run.state === "completed")) {
      void this.complete();
      return;
    }
    for (const step of this.record.task.plan!.steps) {
      if (this.runOf(step.id).state !== "pending" || this.active.has(step.id)) continue;
      if (step.dependsOn.every((dependency) => this.runOf(dependency).state === "completed")) void this.runStep(step);
    }
  }

  private async runStep(step: PlanStep, resumeOn?: string): Promise<void> {
    if (this.active.has(step.id)) return;
    this.active.add(step.id);
    // A step of the first schedule counts until it is sent (or ends unsent): see `firstStepsSent`.
    let inFirstWave = this.firstWave.open;
    if (inFirstWave) this.firstWave.left++;
    const leaveFirstWave = () => {
      if (!inFirstWave) return;
      inFirstWave = false;
      if (--this.firstWave.left === 0 && !this.firstWave.open) this.firstWave.settle();
    };
    const { task, spec } = this.record;
    const run = this.runOf(step.id);
    // The task's logger (taskId, planId) with the step's id on each line: no child logger per step (pino's child()
    // was ~1 % of a chained step's CPU, for lines most steps never write).
    const log = this.deps.logger;
    const stepId = step.id;
    try {
      for (let first = true; ; first = false) {
        if (this.finished) return;
        const resuming = first && resumeOn !== undefined;
        const excluded = spec.excluded[step.id] ?? [];
        let assignee: Assignee | null;
        try {
          assignee = await findAssignee(this.deps.assignment, resuming ? { ...step, agent: resumeOn } : step, this.principal, excluded, spec.constraints?.agents);
        } catch (error) {
          log.warn({ stepId, err: error }, "finding an assignee failed");
          assignee = null;
        }
        if (this.finished) return;
        if (!assignee) {
          const previous = run.error;
          run.state = "failed";
          run.finishedAt = now();
          run.error = previous
            ? { code: previous.code, message: `${previous.message}; no other agent, tool or gateway service offers ${step.capability}` }
            : { code: "no_assignee", message: `no healthy agent, tool or gateway service offering ${step.capability} is available` };
          await this.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: step.id, stepState: "failed", error: run.error })]);
          break;
        }
        run.state = "running";
        run.assignee = assignee.id;
        if (!resuming) run.attempts += 1;
        run.startedAt = now();
        delete run.error;
        // Durable before it is sent (and with it every change queued before, such as the output of the step this one
        // follows): a step is never sent on a state a restart would not find. A failed commit halts the runner.
        await this.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state: task.state, step: step.id, stepState: "running", assignee: assignee.id, attempt: run.attempts })]);
        if (this.finished) return;
        // debug, not info: a line per step at 1,000 steps/s is most of the log and a few % of the node's CPU (pino
        // writes synchronously); the step's TASK_PROGRESS event, stored and streamed, records the same.
        log.debug({ stepId, assignee: assignee.id, attempt: run.attempts }, "step sent");
        const attempt = this.attempt(step, assignee);
        leaveFirstWave();
        const result = await attempt;
        if (result.kind === "stopped" || this.finished) return;
        // The handle was for this attempt's remote work: an answer, an output or an error ends its use.
        delete (run as StoredRun).resume;
        if (result.kind === "output") {
          if (step.review) {
            // kReviewer: the output is checked before the step completes (its dependants wait for the verdict).
            const reviewed = await reviewStepOutput(this.reviewContext(), step, run, { id: assignee.id, author: result.assignee ?? assignee.id }, result.output, stepInput(step, task.steps));
            if (reviewed.kind === "stopped" || this.finished) return;
            if (reviewed.kind === "rejected" && reviewed.willRetry) continue;
            if (reviewed.kind !== "approved") return void this.finish("failed", reviewed.error);
          }
          run.state = "completed";
          run.output = result.output;
          run.finishedAt = now();
          if (result.assignee) run.assignee = result.assignee;
          // Not awaited: the steps this output unblocks are scheduled at once, and their "running" change joins this
          // one in the same write (task-commits.ts queues a task's changes: one commit per chain step, not two). Each
          // of them is sent only once its own commit, which follows this one, is durable; so is the task's end.
          void this.commit([taskEvent("AGENT_RESULT", task.planId, run.assignee, { step: step.id, output: result.output })]);
          break;
        }
        if (result.kind === "input-required") {
          run.state = "input-required";
          (run as StoredRun).prompt = result.prompt;
          if (result.resume) (run as StoredRun).resume = result.resume;
          task.state = "input-required";
          task.question ??= { step: step.id, prompt: result.prompt };
          await this.commit([taskEvent("TASK_PROGRESS", task.planId, assignee.id, { state: task.state, step: step.id, stepState: "input-required", prompt: result.prompt })]);
          return;
        }
        (spec.excluded[step.id] ??= []).push(assignee.id);
        const willRetry = run.attempts <= step.retries;
        run.error = { code: result.code, message: result.message };
        run.state = willRetry ? "pending" : "failed";
        if (!willRetry) run.finishedAt = now();
        log.warn({ stepId, assignee: assignee.id, code: result.code, willRetry }, "step attempt failed");
        await this.commit([taskEvent("AGENT_ERROR", task.planId, assignee.id, { step: step.id, error: run.error, attempt: run.attempts, willRetry })]);
        if (!willRetry) break;
      }
    } catch (error) {
      log.error({ stepId, err: error }, "the step stopped unexpectedly");
      return;
    } finally {
      this.active.delete(step.id);
      leaveFirstWave();
    }
    this.schedule();
  }

  private async attempt(step: PlanStep, assignee: Assignee): Promise<AttemptResult> {
    const { task, spec } = this.record;
    // The step's own timeout, then the operator's word on this agent (its overrides file), then the agent's manifest.
    const timeoutMs = step.timeoutMs ?? this.deps.stepTimeoutFor?.(assignee.id) ?? (assignee.kind === "agent" ? assignee.stepTimeoutMs : undefined) ?? this.deps.defaultStepTimeoutMs;
    const controller = new AbortController();
    const onTaskAbort = () => controller.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener("abort", onTaskAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DispatchError("step_timeout", `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const release = assignee.kind === "agent" ? this.deps.load.add(assignee.id, task.id) : () => undefined;
    let progressReports = 0;
    try {
      const input = reviewFeedback(stepInput(step, task.steps), this.runOf(step.id), assignee);
      const dispatch = (request: StepDispatch) => this.deps.dispatchers.dispatch(assignee, request);
      const tracing = tracingOf(this.traceParent);
      // A span per step attempt under the task's request (its dispatch carries the span on: tracing/spans.ts).
      const send = tracing
        ? (request: StepDispatch) => inSpan(tracing, "task.step", { parent: this.traceParent, attributes: { "kai.task_id": task.id, "kai.step_id": step.id, "kai.assignee": assignee.id, "kai.capability": step.capability } }, () => dispatch(request))
        : dispatch;
      const outcome = await send({
        taskId: task.id,
        planId: task.planId ?? "",
        stepId: step.id,
        capability: step.capability,
        // The rendered prompt lives only in this call (never in the stored task): see task-prompt.ts.
        input: spec.prompt ? await this.renderPrompt(spec.prompt, input) : input,
        ...(spec.answers[step.id] !== undefined ? { answer: spec.answers[step.id] } : {}),
        ...((this.runOf(step.id) as StoredRun).resume ? { resume: (this.runOf(step.id) as StoredRun).resume! } : {}),
        principal: this.principal,
        signal: controller.signal,
        progress: (update) => {
          // Reports are stored like every task event, so a chatty agent is bounded: at most PROGRESS_LIMIT per
          // attempt (an agent that floods is not allowed to fill the task's log).
          if (controller.signal.aborted || progressReports >= PROGRESS_LIMIT) return;
          progressReports++;
          void this.commit([taskEvent("TASK_PROGRESS", task.planId, assignee.id, { state: task.state, step: step.id, stepState: "running", ...update })]);
        },
      });
      if (outcome.kind !== "output" || !this.deps.artifacts) return outcome;
      return { ...outcome, output: await this.keepArtifacts(outcome.output, outcome.assignee ?? assignee.id) };
    } catch (error) {
      if (this.abort.signal.aborted) return { kind: "stopped" };
      if (timedOut) return { kind: "error", code: "step_timeout", message: `${assignee.id} gave no answer within ${timeoutMs} ms` };
      if (error instanceof DispatchError) return { kind: "error", code: error.code, message: error.message };
      this.deps.logger.error({ err: error, stepId: step.id }, "dispatching a step failed");
      return { kind: "error", code: "dispatch_failed", message: "the step could not be sent" };
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener("abort", onTaskAbort);
      release();
    }
  }

  /** The output with its files stored as artifacts; a file the artifact store refuses (too large, …) fails the attempt. */
  private async keepArtifacts(output: unknown, agent: string): Promise<unknown> {
    try {
      return await storeStepArtifacts(this.deps.artifacts!, output, { taskId: this.record.task.id, agent }, this.principal);
    } catch (error) {
      if (error instanceof ApiError) throw new DispatchError("artifact_rejected", `a file in the output of ${agent} was not stored: ${error.code}: ${error.message}`);
      throw error;
    }
  }

  /** The step input with the task's prompt rendered as its owner; a render that fails now fails the attempt. */
  private async renderPrompt(pinned: PinnedPrompt, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!this.deps.prompts) throw new DispatchError("prompt_render_failed", "this node has no prompt store for tasks");
    try {
      return await withPrompt(this.deps.prompts, pinned, input, this.principal);
    } catch (error) {
      if (error instanceof ApiError) throw new DispatchError("prompt_render_failed", `prompt ${pinned.name}@${pinned.version}: ${error.code}`);
      throw error;
    }
  }

  // ---- the end ----

  private async complete(): Promise<void> {
    if (this.completing) return;
    this.completing = true;
    const { task, spec } = this.record;
    const plan = task.plan!;
    const needed = new Set(plan.steps.flatMap((step) => step.dependsOn));
    const result: Record<string, unknown> = {};
    for (const step of plan.steps) if (!needed.has(step.id)) result[step.id] = this.runOf(step.id).output;
    if (spec.constraints?.review) {
      // kReviewer: the result is the task's only once approved.
      const reviewed = await reviewTaskResult(this.reviewContext(), result);
      if (reviewed.kind === "stopped" || this.finished) return;
      if (reviewed.kind !== "approved") return this.finish("failed", reviewed.error);
    }
    task.result = result;
    await this.finish("completed");
  }

  private reviewContext(): ReviewHookContext {
    const { dispatchers, assignment, gateway, logger } = this.deps;
    this.deps.reviewer ??= new KReviewer({ dispatchers, assignment, ...(gateway ? { gateway } : {}), logger: logger.child({ agent: "kReviewer:main" }) });
    return { reviewer: this.deps.reviewer, record: this.record, principal: this.principal, signal: this.abort.signal, commit: (events) => this.commit(events) };
  }

  private async finish(state: Extract<TaskState, "completed" | "failed" | "canceled">, error?: { code: string; message: string }): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.firstWave.settle();
    if (this.deadline) clearTimeout(this.deadline);
    const { task } = this.record;
    for (const run of task.steps) {
      if (!ACTIVE_STEP_STATES.includes(run.state)) continue;
      // A step waiting on remote work (an A2A task in input-required) will not be answered: the remote side is told.
      const resume = (run as StoredRun).resume;
      if (run.state === "input-required" && resume) {
        delete (run as StoredRun).resume;
        this.deps.dispatchers.abandon(resume).catch((error: unknown) => this.deps.logger.warn({ err: error, stepId: run.id }, "ending a waiting step's remote work failed"));
      }
      run.state = run.state === "pending" && state === "failed" ? "skipped" : "canceled";
      run.finishedAt = now();
    }
    task.state = state;
    delete task.question;
    if (error) task.error = error;
    this.abort.abort(new Error(`the task is ${state}`));
    // Logged once stored (after the commit, not on the task's way to it); a commit that fails says so instead.
    await this.commit([taskEvent("TASK_PROGRESS", task.planId, KCORE_AGENT, { state, ...(error ? { error } : {}), ...(state === "completed" ? { result: task.result } : {}) })]);
    if (!this.stoppedByCommit) {
      // A task that failed is something to look at: at warn, so `--level warn` (and a node at logging.level warn)
      // shows it. One canceled by its caller ended as asked and stays at info, as does one completed.
      const line = { state, ...(error ? { code: error.code } : {}) };
      if (state === "failed") this.deps.logger.warn(line, "task finished");
      else this.deps.logger.info(line, "task finished");
    }
    this.deps.onFinished(task.id);
  }

  // ---- store, then bus ----

  /**
   * Commits the task as it is now with `events`, after every earlier commit of this task; then publishes them.
   * Group commit (task-commits.ts): what is written is the record when the batch leaves, so a change to the record
   * and the commit() announcing it must happen in one synchronous run (no await between them).
   */
  private commit(events: NewTaskEvent[]): Promise<void> {
    this.record.task.updatedAt = now();
    this.committer ??= new TaskCommitter({
      record: this.record,
      store: this.deps.store,
      stored: (stored) => {
        if (this.publishGate) void this.publishGate.then(() => this.publish(stored));
        else this.publish(stored);
      },
    });
    // The owner rides on every event: the event hub sends a task's events to its owner (and admins) only.
    const owner = this.record.task.owner;
    const settled = this.committer.commit(events.map((event) => ({ ...event, owner }))).catch((error: unknown) => this.commitFailed(error));
    this.chain = Promise.all([this.chain, settled]);
    return settled;
  }

  private publish(events: readonly BusEvent[]): void {
    for (const event of events) {
      this.deps.bus.publish(event).catch((error: unknown) => this.deps.logger.warn({ err: error }, "publishing a task event failed (it is stored: streams replay it)"));
    }
  }

  private commitFailed(error: unknown): void {
    // Commits queued together fail together: the first failure stops the runner and says why, once.
    if (this.stoppedByCommit) return;
    this.stoppedByCommit = true;
    const fenced = error instanceof TaskFencedError;
    // Refused because another instance adopted the task (this one was thought gone): halt, the adopter runs it.
    if (fenced) this.deps.logger.warn({}, "another instance runs the task now; this runner halts");
    // Its create was not committed (it failed in the same batch, and its caller got the error): nothing to resume.
    else if (error instanceof TaskMissingError) this.deps.logger.warn({}, "the task's create was not committed; this runner stops and nothing resumes it");
    else this.deps.logger.error({ err: error }, "committing the task failed; it stops here and resumes after a restart");
    const wasFinished = this.finished;
    this.finished = true;
    this.firstWave.settle();
    if (this.deadline) clearTimeout(this.deadline);
    this.abort.abort(error);
    if (fenced && !wasFinished) this.deps.onFinished(this.record.task.id);
  }
}
