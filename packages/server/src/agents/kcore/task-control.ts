/**
 * @module agents/kcore/task-control
 * Cancel and answer on any instance of a node reach the instance that runs the task (docs/agents/tasks.md, "Many
 * instances"). The instance asked publishes a `task_control` cluster signal `{ taskId, action }`; the runner's
 * instance acts on it. An answer's value does not ride on the signal (signals are small and seen by every
 * instance): it is left in the task store (`putAnswer`) and the runner takes it (`takeAnswer`). The asker then
 * waits, reading the store, until the effect is committed. When no live instance runs the task (its runner is gone
 * and the leader has not adopted it yet), the asker adopts it itself and acts locally.
 */
import { TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import type { Logger } from "../../logging/logger.js";
import type { TaskRecord, TaskStore } from "../../storage/contracts/task-store.js";
import { ApiError } from "../../errors.js";
import type { TaskAdoption, TaskCluster } from "./task-adoption.js";
import type { TaskRunner } from "./task-runner.js";

export type TaskControlAction = "cancel" | "answer";

export interface TaskControlDeps {
  store: TaskStore;
  cluster: TaskCluster;
  adoption: TaskAdoption;
  logger: Logger;
  /** This instance's runner of the task, if any. */
  local(taskId: string): TaskRunner | undefined;
  /** Runs an adopted task here; resolves with its runner once started (`start: false`: registered, not started). */
  run(record: TaskRecord, start: boolean): Promise<TaskRunner | undefined>;
  /** How long the asker waits for the runner's commit before it looks again, ms. */
  waitMs?: number;
}

/** How often the asker reads the store while it waits. */
const POLL_MS = 50;
/** Rounds of "reach the runner, or adopt": the runner may die between the look and the signal. */
const ROUNDS = 3;

const isTerminal = (task: Task) => TERMINAL_TASK_STATES.includes(task.state);

export class TaskControl {
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: TaskControlDeps) {}

  /** Listens for the signals meant for this instance's runners. */
  start(): void {
    this.unsubscribe = this.deps.cluster.signals.subscribe("task_control", (payload) => {
      const { taskId, action } = payload;
      if (typeof taskId !== "string" || (action !== "cancel" && action !== "answer")) return;
      const runner = this.deps.local(taskId);
      if (!runner) return;
      void this.act(runner, taskId, action).catch((error: unknown) => this.deps.logger.warn({ taskId, action, err: error }, "a task control signal could not be carried out"));
    });
  }

  close(): void {
    this.unsubscribe?.();
  }

  /** Cancels a task that this instance does not run. */
  async cancel(taskId: string): Promise<void> {
    await this.reach(taskId, "cancel");
  }

  /** Answers a task that this instance does not run. Throws `task_not_waiting` when it does not wait for input. */
  async answer(taskId: string, value: unknown): Promise<void> {
    await this.reach(taskId, "answer", value);
  }

  private async act(runner: TaskRunner, taskId: string, action: TaskControlAction): Promise<void> {
    if (action === "cancel") return runner.cancel();
    await applyLeftAnswer(this.deps.store, runner, this.deps.logger);
  }

  private async reach(taskId: string, action: TaskControlAction, value?: unknown): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const record = await this.deps.store.getTask(taskId);
      if (!record || isTerminal(record.task)) return notWaitingIf(action === "answer", record?.task);
      const question = record.task.question;
      if (action === "answer" && (record.task.state !== "input-required" || !question)) return notWaitingIf(true, record.task);
      const local = this.deps.local(taskId);
      if (local) return action === "cancel" ? local.cancel() : local.answer(value);
      // The answer waits in the store for whoever runs the task: the runner on the signal, or a runner resumed
      // after an adoption (kCore applies an answer left for a resumed task), so it is applied once either way.
      if (action === "answer" && !(await this.deps.store.putAnswer(taskId, { step: question!.step, value }))) return notWaitingIf(true, record.task);
      const adopted = await this.deps.adoption.adoptIfOrphan(taskId, record.runner ?? null);
      if (adopted) {
        // No live instance ran it: this one does now (a cancel needs no step to run first).
        const runner = await this.deps.run(adopted, action !== "cancel");
        if (!runner) throw new ApiError("unavailable", "the node is shutting down");
        if (action === "cancel") await runner.cancel();
        return;
      }
      await this.deps.cluster.signals.publish("task_control", { taskId, action });
      if (await this.committed(taskId, record.task, action)) return;
      // The runner did not act in time (it may have died since): look again.
    }
    this.deps.logger.warn({ taskId, action }, "the instance running the task did not act on a control signal in time");
  }

  /** Waits until the runner committed the effect: the task ended (cancel), or its "answered" event is stored (answer). */
  private async committed(taskId: string, before: Task, action: TaskControlAction): Promise<boolean> {
    const until = Date.now() + (this.deps.waitMs ?? 5_000);
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const now = (await this.deps.store.getTask(taskId))?.task;
      if (!now || isTerminal(now)) return true;
      if (action === "answer" && now.lastSeq > before.lastSeq) {
        const since = await this.deps.store.eventsAfter(taskId, before.lastSeq, 1_000);
        if (since.some((event) => event.payload.answered === true)) return true;
      }
    }
    return false;
  }
}

/** Applies the answer left in the store for the runner's task, if there is one and it answers the open question. */
export async function applyLeftAnswer(store: TaskStore, runner: TaskRunner, logger: Logger): Promise<void> {
  const taskId = runner.task.id;
  const answer = await store.takeAnswer(taskId);
  if (!answer) return;
  if (runner.task.state !== "input-required" || runner.task.question?.step !== answer.step) {
    logger.warn({ taskId, step: answer.step }, "an answer left for a question the task no longer asks is dropped");
    return;
  }
  await runner.answer(answer.value);
}

function notWaitingIf(refuse: boolean, task: Task | undefined): void {
  if (refuse) throw new ApiError("task_not_waiting", `task is ${task?.state ?? "gone"}, not waiting for input`);
}
