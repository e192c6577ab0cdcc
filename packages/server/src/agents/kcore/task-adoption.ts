/**
 * @module agents/kcore/task-adoption
 * Which instance runs which task on a node of many instances (docs/agents/tasks.md, "Many instances"). Each task
 * records its runner: the cluster instance id and a lease suffix new at each create or adoption (`<id>#<lease>`),
 * so that even an instance that adopts back a task it once ran fences off its own old runner. Membership is the lease: a task whose runner is not a live member
 * is an orphan. At start an instance resumes its orphans (every unfinished task on a single node, whose instance id
 * is new at each start); while it leads, it looks for orphans every `sweepMs` and when it becomes the leader. Taking
 * a task is a conditional update in the store (`adoptTask`), so of two adopters one wins; the loser leaves it.
 * The adopter's commits are then the only ones the store accepts (fencing: task-store.ts `TaskFencedError`).
 */
import type { Logger } from "../../logging/logger.js";
import { randomUUID } from "node:crypto";
import type { ClusterMember, ClusterSignals, Leadership } from "../../cluster/cluster-types.js";
import type { TaskRecord, TaskStore } from "../../storage/contracts/task-store.js";
import { randomHex } from "../../time-ordered-id.js";

/** What kCore needs of the cluster (`Cluster` fits): who it is, who is alive, who leads, the signal bus (task-control.ts). */
export interface TaskCluster {
  readonly mode: "single" | "postgres";
  readonly instanceId: string;
  members(): Promise<Array<Pick<ClusterMember, "instanceId">>>;
  readonly leadership: Pick<Leadership, "isLeader" | "onChange">;
  readonly signals: Pick<ClusterSignals, "publish" | "subscribe">;
}

/** A new runner id for a task run by `instanceId`. */
export const newRunnerId = (instanceId: string): string => `${instanceId}#${randomHex(4)}`;

/** The instance of a runner id (null: no runner). */
export const instanceOf = (runner: string | null | undefined): string | null => (runner ? runner.split("#")[0]! : null);

/** The cluster of one, for a kCore built without one (tests): a new instance id, alone, leading, no signals. */
export function soloTaskCluster(): TaskCluster {
  const instanceId = randomUUID();
  return {
    mode: "single",
    instanceId,
    members: async () => [{ instanceId }],
    leadership: { isLeader: true, onChange: () => () => undefined },
    signals: { publish: async () => undefined, subscribe: () => () => undefined },
  };
}

export interface TaskAdoptionDeps {
  store: TaskStore;
  cluster: TaskCluster;
  logger: Logger;
  /** True while this instance has a runner for the task. */
  running(taskId: string): boolean;
  /** Runs an adopted task (resumed: steps that were running run again or fail). */
  resume(record: TaskRecord): void;
  /** How often the leader looks for orphans, ms (only with many instances). */
  sweepMs: number;
}

export class TaskAdoption {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly deps: TaskAdoptionDeps) {}

  /** Live members' instance ids (this one included). */
  async liveMembers(): Promise<Set<string>> {
    return new Set((await this.deps.cluster.members()).map((member) => member.instanceId));
  }

  /**
   * Takes the task for this instance when `runner` (its runner as last read) is gone: not a live member, or none; or
   * this instance without a runner for it (after a failed commit). Returns the adopted record, or null when another
   * instance runs it, it ended, or its runner changed since it was read.
   */
  async adoptIfOrphan(taskId: string, runner: string | null, live?: Set<string>): Promise<TaskRecord | null> {
    const self = this.deps.cluster.instanceId;
    const instance = instanceOf(runner);
    if (instance === self ? this.deps.running(taskId) : instance !== null && (live ?? (await this.liveMembers())).has(instance)) return null;
    const adopted = await this.deps.store.adoptTask(taskId, runner, newRunnerId(self));
    if (adopted) this.deps.logger.info({ taskId, planId: adopted.task.planId, from: runner }, runner === null ? "running a task that had no runner" : "adopting a task whose instance is gone");
    return adopted;
  }

  /** At start: resumes the unfinished tasks that no live instance runs; then, with many instances, sweeps while leading. */
  async start(): Promise<void> {
    await this.sweep();
    if (this.deps.cluster.mode === "single") return;
    this.unsubscribe = this.deps.cluster.leadership.onChange((leader) => {
      if (leader) void this.sweepQuietly();
    });
    this.timer = setInterval(() => {
      if (this.deps.cluster.leadership.isLeader) void this.sweepQuietly();
    }, this.deps.sweepMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** One look for orphans (never two at once). */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepQuietly(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      this.deps.logger.warn({ err: error }, "looking for tasks to adopt failed; the next sweep tries again");
    }
  }

  private async sweepOnce(): Promise<void> {
    // Ids and runners only (the leader looks often); the adoption reads the task itself, under its update.
    const unfinished = await this.deps.store.unfinishedRunners();
    const self = this.deps.cluster.instanceId;
    // Only tasks of other (gone) runners or none: one of this instance's own that has no runner here halted after a
    // failed commit and waits for the next start, as on one node.
    const candidates = unfinished.filter((entry) => instanceOf(entry.runner) !== self);
    if (candidates.length === 0) return;
    const live = await this.liveMembers();
    for (const { id, runner } of candidates) {
      if (this.closed) return;
      const adopted = await this.adoptIfOrphan(id, runner, live);
      if (adopted) this.deps.resume(adopted);
    }
  }
}
