/**
 * @module agents/kcore/task-engine
 * kCore: the task API's engine. A create is stored (with its first event) before it is acknowledged, then runs
 * in a TaskRunner; get and list read the store (the owner's tasks, or every task for an admin; another's task is
 * "not found"); cancel and answer reach the task's runner, on this instance or (task-control.ts) on another one.
 * Each task records the instance running it; on open an instance resumes the unfinished tasks no live instance runs
 * (on one node: all of them, so a restart never loses an acknowledged task), and the leader adopts those of
 * instances that are gone (task-adoption.ts). On close it halts the runners without recording anything, so the
 * next start (or another instance) resumes them. Every log line of a task carries its taskId and planId.
 */
import { TERMINAL_TASK_STATES, type AnswerTaskRequestSchema, type BusEvent, type CreateTaskRequest, type ListTasksQuery, type ListTasksResponse, type Task } from "@kai/protocol";
import type { z } from "zod";
import { context, trace } from "@opentelemetry/api";
import type { Logger } from "../../logging/logger.js";
import type { EventBus } from "../../bus/event-bus.js";
import { isAdmin, type Principal } from "../../auth/principal.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { GatewayPort } from "../../http/front-doors/gateway-port.js";
import type { NewTaskEvent, TaskRecord, TaskStore } from "../../storage/contracts/task-store.js";
import { ApiError, notFound } from "../../errors.js";
import type { Planner } from "../ports.js";
import { LoadTracker } from "./agent-load.js";
import { createDispatchers, type Dispatchers } from "./dispatch/dispatchers.js";
import { planForRequest } from "./plan-for-request.js";
import { pinPrompt, type TaskPromptPort } from "./task-prompt.js";
import type { StepArtifactsPort } from "./step-artifacts.js";
import { KCORE_AGENT, taskEvent } from "./task-events.js";
import { TaskRunner } from "./task-runner.js";
import { newRunnerId, soloTaskCluster, TaskAdoption, type TaskCluster } from "./task-adoption.js";
import { applyLeftAnswer, TaskControl } from "./task-control.js";
import { timeOrderedId } from "../../time-ordered-id.js";
import { waitAtMost } from "../../wait-at-most.js";
import type { NodeTracing } from "../../tracing/node-tracing.js";
import { activeTrace, extractTraceContext } from "../../tracing/spans.js";

export interface TaskEngineDeps {
  store: TaskStore;
  bus: EventBus;
  logger: Logger;
  registry: RegistryService;
  gateway: GatewayPort;
  /** kPlanner, read at each create (the mesh may plug it in after kCore is built). */
  planner?: () => Planner | undefined;
  /** The prompt store: a task may name a prompt (task-prompt.ts); absent, such a create is refused 503. */
  prompts?: TaskPromptPort;
  /** The artifact store: files in a step's output are kept as artifacts (step-artifacts.ts). */
  artifacts?: StepArtifactsPort;
  /** A step's timeout when neither the step nor its agent gives one, ms (default 60 s). */
  defaultStepTimeoutMs?: number;
  /** The assignee's overrides file's step timeout, when it sets one (task-runner.ts `RunnerDeps.stepTimeoutFor`). */
  stepTimeoutFor?: (assigneeId: string) => number | undefined;
  /** Dispatchers (tests and the next transports may pass their own). */
  dispatchers?: Dispatchers;
  /** The node's cluster (one instance alone when absent): who runs which task, cancel/answer across instances. */
  cluster?: TaskCluster;
  /** How often the leader looks for tasks of instances that are gone, ms (default 2 s). */
  adoptionSweepMs?: number;
  /** The node's tracing: a task resumed or adopted outside any request continues the trace it was created in. */
  tracing?: NodeTracing;
}

/** At most this long, ms, a new task's 202 waits for its first steps to be sent (TaskEngine.afterFirstSteps). */
const FIRST_STEPS_WAIT_MS = 100;

/** Time-ordered ids (listing newest first is listing by id): ms since epoch in base 36, then randomness. */
export function newTaskId(): string {
  return timeOrderedId("task");
}

/**
 * Runs `make` (a runner's construction: it keeps the active context as its steps' parent) in the trace the task was
 * created in when nothing is traced now: a task resumed at start or adopted by the leader's sweep. Inside a request
 * (a create, an answer) the request's own context stays.
 */
function inCreatingTrace<T>(record: TaskRecord, tracing: NodeTracing | undefined, make: () => T): T {
  if (tracing === undefined || record.traceparent === undefined || trace.getSpan(context.active()) !== undefined) return make();
  return context.with(extractTraceContext(tracing, { traceparent: record.traceparent }), make);
}

export class TaskEngine {
  readonly load = new LoadTracker();
  private readonly runners = new Map<string, TaskRunner>();
  private readonly dispatchers: Dispatchers;
  private readonly cluster: TaskCluster;
  private readonly adoption: TaskAdoption;
  private readonly control: TaskControl;
  private closed = false;

  private constructor(private readonly deps: TaskEngineDeps) {
    this.dispatchers = deps.dispatchers ?? createDispatchers(deps.gateway);
    this.cluster = deps.cluster ?? soloTaskCluster();
    this.adoption = new TaskAdoption({
      store: deps.store,
      cluster: this.cluster,
      logger: deps.logger,
      running: (taskId) => this.runners.has(taskId),
      resume: (record) => {
        deps.logger.info({ taskId: record.task.id, planId: record.task.planId }, "resuming a task");
        void this.launch(record, true);
      },
      sweepMs: deps.adoptionSweepMs ?? 2_000,
    });
    this.control = new TaskControl({
      store: deps.store,
      cluster: this.cluster,
      adoption: this.adoption,
      logger: deps.logger,
      local: (taskId) => this.runners.get(taskId),
      run: (record, start) => this.launch(record, true, start),
    });
  }

  /** Builds the engine and resumes the unfinished tasks of the store that no live instance runs. */
  static async open(deps: TaskEngineDeps): Promise<TaskEngine> {
    const engine = new TaskEngine(deps);
    engine.control.start();
    await engine.adoption.start();
    return engine;
  }

  async create(request: CreateTaskRequest, principal: Principal): Promise<Task> {
    if (this.closed) throw new ApiError("unavailable", "the node is shutting down");
    if (request.prompt && (request.plan || (request.agent === undefined && request.capability === undefined))) {
      throw new ApiError("validation_failed", "a prompt goes with a one-step task", [{ path: "prompt", message: "give agent or capability with it (not a plan, nor a goal for the planner)" }]);
    }
    // Rendered now only to refuse what cannot render and to pin the version; the step gets it at dispatch.
    const prompt = request.prompt ? await pinPrompt(this.deps.prompts, request.prompt, principal) : undefined;
    const { plan, planId } = await planForRequest({ registry: this.deps.registry, planner: this.deps.planner ?? (() => undefined) }, request, principal);
    const at = new Date().toISOString();
    const record: TaskRecord = {
      runner: newRunnerId(this.cluster.instanceId),
      task: {
        id: newTaskId(),
        goal: request.goal,
        state: "submitted",
        owner: principal.owner,
        createdAt: at,
        updatedAt: at,
        planId,
        plan,
        steps: plan.steps.map((step) => ({ id: step.id, capability: step.capability, state: "pending", attempts: 0 })),
        lastSeq: 0,
      },
      spec: {
        input: request.input,
        ...(request.context ? { context: request.context } : {}),
        ...(request.constraints ? { constraints: request.constraints } : {}),
        ...(prompt ? { prompt } : {}),
        principal: {
          owner: principal.owner,
          scopes: [...principal.scopes],
          tokenId: principal.tokenId,
          ...(principal.userId ? { userId: principal.userId } : {}),
          ...(principal.secretPatterns ? { secretPatterns: [...principal.secretPatterns] } : {}),
        },
        ...(request.constraints?.deadlineMs !== undefined ? { deadlineAt: Date.now() + request.constraints.deadlineMs } : {}),
        excluded: {},
        answers: {},
      },
    };
    // Kept with the task, so that a step run after a restart or an adoption continues the creating request's trace;
    // the trace's id is shown with the task (what leads an operator to its spans and log lines).
    const active = activeTrace();
    if (active !== undefined) {
      record.traceparent = active.traceparent;
      record.task.traceId = active.traceId;
    }
    const submitted: NewTaskEvent[] = [{ ...taskEvent("TASK_PROGRESS", planId, KCORE_AGENT, { state: "submitted", goal: request.goal }), owner: principal.owner }];
    if (this.deps.store.ordersWrites && request.idempotencyKey === undefined) return this.createAndStart(record, submitted);
    const made = await this.deps.store.createTask(record, submitted, request.idempotencyKey);
    if (!made.created) return made.record.task;
    this.publishCreated(made.events);
    // What was stored is what the caller is told (the runner changes its own copy from here on).
    const acknowledged = structuredClone(made.record.task);
    void this.launch(made.record, false);
    return acknowledged;
  }

  private publishCreated(events: readonly BusEvent[]): void {
    for (const event of events) this.deps.bus.publish(event).catch(() => undefined);
  }

  /**
   * The create and the runner's start in one transaction, on a store that applies writes in call order: the runner
   * starts first, on its own copy, and its first commit (the task working, its first steps running once assigned)
   * is queued in this turn; the create, queued now, goes ahead of it in the same batch (one fsync where there were
   * two: the largest fixed cost of a short task). Nothing reaches an agent before that batch is durable, since a step
   * is sent only once its "running" commit is stored. Its events are published after the create's own (the gate).
   * Not with an idempotency key: a repeated create finds the first task, and a runner started for nothing would fail.
   */
  private async createAndStart(record: TaskRecord, submitted: NewTaskEvent[]): Promise<Task> {
    let announced!: () => void;
    const gate = new Promise<void>((resolve) => (announced = resolve));
    // Started synchronously up to its first commit (launch and start do not await before it).
    const launched = this.launch(structuredClone(record), false, true, gate);
    let made: Awaited<ReturnType<TaskStore["createTask"]>>;
    try {
      made = await this.deps.store.createTask(record, submitted);
    } catch (error) {
      // Its commit, queued behind the create, failed with it; nothing was sent.
      const runner = await launched;
      if (runner) {
        this.runners.delete(record.task.id);
        await runner.halt();
      }
      throw error;
    }
    this.publishCreated(made.events);
    announced();
    await this.afterFirstSteps(await launched);
    return made.record.task;
  }

  /**
   * Waits until `runner`'s first steps are on their way, so that its agents work while this node answers the
   * creator (the 202 and its log line were ~0.25 ms of a one-step task's path, measured; docs/benchmarks.md). One
   * more turn of the event loop follows the dispatch calls: undici writes a request to an idle kept-alive
   * connection only after a `setImmediate` of its own (its check for bytes the server sent meanwhile,
   * GHSA-35p6-xmwp-9g52), and an immediate queued after it runs after it. Bounded by FIRST_STEPS_WAIT_MS,
   * whatever a dispatcher does.
   */
  private async afterFirstSteps(runner: TaskRunner | undefined): Promise<void> {
    if (runner) await waitAtMost(runner.firstStepsSent, FIRST_STEPS_WAIT_MS);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async get(id: string, principal: Principal): Promise<Task> {
    const record = await this.deps.store.getTask(id);
    if (!record || (record.task.owner !== principal.owner && !isAdmin(principal))) throw notFound("task");
    // The stored task, never the runner's copy: what the API shows is what is committed (with its events).
    return record.task;
  }

  async list(query: ListTasksQuery, principal: Principal): Promise<ListTasksResponse> {
    const page = await this.deps.store.listTasks({
      ...(isAdmin(principal) ? {} : { owner: principal.owner }),
      ...(query.state ? { states: query.state } : {}),
      limit: query.limit,
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    return { tasks: page.records.map((record) => record.task), nextCursor: page.nextCursor };
  }

  async cancel(id: string, principal: Principal): Promise<Task> {
    const task = await this.get(id, principal);
    const runner = this.runners.get(id);
    if (runner) await runner.cancel();
    else if (!TERMINAL_TASK_STATES.includes(task.state)) await this.control.cancel(id);
    return (await this.deps.store.getTask(id))?.task ?? task;
  }

  async answer(id: string, principal: Principal, body: z.output<typeof AnswerTaskRequestSchema>): Promise<Task> {
    const task = await this.get(id, principal);
    const runner = this.runners.get(id);
    if (runner) await runner.answer(body.answer);
    else await this.control.answer(id, body.answer);
    return (await this.deps.store.getTask(id))?.task ?? task;
  }

  /** True while this instance runs the task (its runner here has not finished, halted or been replaced). */
  isRunning(taskId: string): boolean {
    return this.runners.has(taskId);
  }

  /** Halts every runner (nothing recorded: the next start resumes the tasks). */
  async close(): Promise<void> {
    this.closed = true;
    this.adoption.close();
    this.control.close();
    await Promise.all([...this.runners.values()].map((runner) => runner.halt()));
    this.runners.clear();
  }

  /**
   * Runs a task on this instance (its runner is this instance in the store). Resolves with the runner once started
   * (`start: false`: registered only, for a cancel of an adopted task). A resumed task waiting for input takes the
   * answer left for it, if any (an answer given through another instance whose runner was gone).
   */
  private async launch(record: TaskRecord, resumed: boolean, start = true, publishAfter?: Promise<void>): Promise<TaskRunner | undefined> {
    if (this.closed) return undefined;
    const logger = this.deps.logger.child({ taskId: record.task.id, planId: record.task.planId });
    const runner = inCreatingTrace(record, this.deps.tracing, () => new TaskRunner(record, {
      store: this.deps.store,
      bus: this.deps.bus,
      logger,
      dispatchers: this.dispatchers,
      assignment: { registry: this.deps.registry, load: this.load, supports: (transport) => this.dispatchers.supports(transport) },
      load: this.load,
      defaultStepTimeoutMs: this.deps.defaultStepTimeoutMs ?? 60_000,
      ...(this.deps.stepTimeoutFor ? { stepTimeoutFor: this.deps.stepTimeoutFor } : {}),
      gateway: this.deps.gateway,
      ...(publishAfter ? { publishAfter } : {}),
      ...(this.deps.prompts ? { prompts: this.deps.prompts } : {}),
      ...(this.deps.artifacts ? { artifacts: this.deps.artifacts } : {}),
      // Only this runner's own entry (after a refused commit, this instance may run the task again later).
      onFinished: (taskId) => {
        if (this.runners.get(taskId) === runner) this.runners.delete(taskId);
      },
    }));
    this.runners.set(record.task.id, runner);
    if (!start) return runner;
    try {
      await runner.start(resumed);
      if (resumed && runner.task.state === "input-required") await applyLeftAnswer(this.deps.store, runner, logger);
    } catch (error) {
      logger.error({ err: error }, "the task could not start");
    }
    return runner;
  }
}
