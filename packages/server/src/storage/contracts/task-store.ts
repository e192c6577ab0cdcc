/**
 * @module storage/contracts/task-store
 * Where kCore keeps its tasks (issue 16): each task as one document (the public `Task` and what kCore needs to
 * carry it on after a restart), and each task's events with their per-task sequence numbers. A state change and
 * the events that announce it are committed together (`commitTask`): an event is never stored for a state that
 * was not, nor a state without its event, and a stream resuming "after seq N" misses nothing. Every backend
 * (memory, SQLite, PostgreSQL) passes the contract suite (test/storage/task-store-contract.ts).
 */
import { parseJson, type BusEvent, type CreateTaskRequest, type Scope, type Task, type TaskState } from "@kai/protocol";
import type { TaskEventLog } from "../../bus/task-event-log.js";

/** An event to store: the store gives it its task id and the next sequence number. */
export type NewTaskEvent = Omit<BusEvent, "seq" | "taskId">;

/** Who a task runs for, kept so that it runs with the same rights after a restart (discovery, gateway calls). */
export interface TaskPrincipal {
  owner: string;
  scopes: Scope[];
  tokenId: string;
  userId?: string;
  /** The token's vault secret patterns (a task's prompt reads `{{vault:…}}` secrets within them, at dispatch). */
  secretPatterns?: readonly string[];
}

/** What kCore keeps beside the public task. */
export interface TaskSpec {
  input: CreateTaskRequest["input"];
  context?: Record<string, unknown>;
  constraints?: CreateTaskRequest["constraints"];
  principal: TaskPrincipal;
  /** The task's prompt (agents/kcore/task-prompt.ts): the reference with its pinned version, rendered at dispatch. */
  prompt?: { name: string; version: number; variables: Record<string, unknown> };
  /** Absolute task deadline, ms since epoch. */
  deadlineAt?: number;
  /** Per step: assignees that failed it (not chosen again). */
  excluded: Record<string, string[]>;
  /** Per step: the answer given to its input-required question (sent with the step when it runs again). */
  answers: Record<string, unknown>;
}

export interface TaskRecord {
  task: Task;
  spec: TaskSpec;
  /**
   * Who runs the task: the cluster instance (`Cluster.instanceId`) and a lease of its own, `<instanceId>#<lease>`;
   * null or absent: none (a copied task, or one stored before runners were recorded). Opaque to the store.
   * Only this runner may commit the task (see `commitTask`); another one takes it over with `adoptTask` once the
   * runner's instance is no longer a live member (agents/kcore/task-adoption.ts).
   */
  runner?: string | null;
  /**
   * The W3C `traceparent` of the request that created the task, when it was traced: a step run after a restart or by
   * an adopting instance (no request around it any more) continues that trace. Opaque to the store.
   */
  traceparent?: string;
}

/** An answer to a task's input-required question, left in the store for the instance that runs the task. */
export interface PendingAnswer {
  step: string;
  value: unknown;
}

/**
 * A commit refused because the task's runner is no longer the committer (another instance adopted the task):
 * fencing, so an instance that was thought dead never overwrites what its adopter does. Its runner halts.
 */
export class TaskFencedError extends Error {
  readonly code = "task_fenced";
  constructor(taskId: string) {
    super(`task ${taskId} is run by another instance now; this commit is refused`);
    this.name = "TaskFencedError";
  }
}

/** A commit (or appended event) of a task that is not stored, e.g. one whose create failed in the same batch. */
export class TaskMissingError extends Error {
  constructor(taskId: string) {
    super(`task ${taskId} does not exist`);
    this.name = "TaskMissingError";
  }
}

/** One entry of `commitTasks`: what `commitTask` takes. */
export interface TaskCommit {
  record: TaskRecord;
  events: readonly NewTaskEvent[];
  /**
   * `JSON.stringify(record)`, when the caller has made it already (kCore does, without serialising again what did
   * not change: agents/kcore/task-document.ts); a backend that stores the document as text stores this one.
   */
  doc?: string;
}

/** The outcome of one `commitTasks` entry. */
export type TaskCommitOutcome = { ok: true; lastSeq: number; events: BusEvent[] } | { ok: false; error: unknown };

/** `commitTasks`' outcomes from its entries' settled promises (the backends that commit entry by entry). */
export function commitOutcomes(settled: ReadonlyArray<PromiseSettledResult<{ lastSeq: number; events: BusEvent[] }>>): TaskCommitOutcome[] {
  return settled.map((result) => (result.status === "fulfilled" ? { ok: true, ...result.value } : { ok: false, error: result.reason as unknown }));
}

export interface TaskListQuery {
  /** Only this owner's tasks (absent: every owner's, for an admin). */
  owner?: string;
  states?: TaskState[];
  limit: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface TaskPage {
  records: TaskRecord[];
  nextCursor: string | null;
}

export const UNFINISHED_TASK_STATES: readonly TaskState[] = ["submitted", "working", "input-required"];

export interface TaskStore extends TaskEventLog {
  /**
   * True when the store applies its writes one after another in the order they were called (one connection and one
   * queue: SQLite's write batcher; the memory store, which applies each at the call). kCore then starts a new task's
   * runner before the task's create is stored, so that the runner's first commit (the task working, its first steps
   * running) joins the create's transaction: one flush where there were two (task-engine.ts). A store whose writes
   * may overtake each other (PostgreSQL's pool) leaves it unset: the commit could reach a task not yet created.
   */
  readonly ordersWrites?: boolean;
  /**
   * Stores a new task with its first events. With `idempotencyKey`, a second create by the same owner with the same
   * key stores nothing and returns the task made first (`created: false`, no events).
   */
  createTask(record: TaskRecord, events: NewTaskEvent[], idempotencyKey?: string): Promise<{ record: TaskRecord; created: boolean; events: BusEvent[] }>;
  getTask(id: string): Promise<TaskRecord | null>;
  /** Newest first. */
  listTasks(query: TaskListQuery): Promise<TaskPage>;
  /**
   * Replaces the stored task by `record` and appends `events` after its last one, atomically; `record.task.lastSeq`
   * is set to the new last sequence number (in the stored copy and in the returned one). Refused with
   * `TaskFencedError` (nothing stored) when the stored task's runner is not `record.runner` (null and absent alike).
   */
  commitTask(record: TaskRecord, events: NewTaskEvent[]): Promise<{ record: TaskRecord; events: BusEvent[] }>;
  /** Tasks not in a terminal state (restart resumes them), oldest first. */
  unfinishedTasks(): Promise<TaskRecord[]>;
  /** The unfinished tasks' ids and runners only (no documents), oldest first: the leader's frequent look for orphans. */
  unfinishedRunners(): Promise<Array<{ id: string; runner: string | null }>>;
  /**
   * Group commit (kCore's, agents/kcore/task-commits.ts): each entry is a `commitTask` of a different task, and all
   * go to the store together (one transaction and one flush where the backend can). Each entry is atomic on its own
   * and has its own outcome, in batch order: an entry that is refused (fencing, a missing task) stores nothing and
   * fails alone, the others commit. The store reads `record` and `events` during the call only, so the caller may
   * change its objects once it returns (no copy needed on its side); the outcome gives the new last sequence number
   * and the numbered events, not a copy of the record.
   */
  commitTasks(batch: readonly TaskCommit[]): Promise<TaskCommitOutcome[]>;
  /**
   * Makes `to` the runner of an unfinished task whose runner is still `from` (a conditional update: of two instances
   * adopting the same task, one wins and the other gets null). Returns the adopted task, or null when the task is
   * finished, missing, or its runner is no longer `from`.
   */
  adoptTask(id: string, from: string | null, to: string): Promise<TaskRecord | null>;
  /**
   * Leaves an answer for an input-required task (any instance may; the runner takes it on a `task_control` signal).
   * False when the task is not waiting for input. A later answer replaces one not yet taken.
   */
  putAnswer(id: string, answer: PendingAnswer): Promise<boolean>;
  /** Takes (reads and clears) the answer left for a task, if any. */
  takeAnswer(id: string): Promise<PendingAnswer | null>;
}

/** The runner a commit must find stored for it to be accepted. */
export const runnerOf = (record: TaskRecord): string | null => record.runner ?? null;

/** Nesting allowed in a stored task or event (agents' outputs are kept as they came, within the API's own limit). */
const STORED_DEPTH = 512;

/** A stored task document or event, parsed (prototype keys dropped); a row that does not parse is a corrupt store. */
export function decodeStored<T>(text: string, what: string): T {
  const parsed = parseJson(text, { maxDepth: STORED_DEPTH });
  if (!parsed.ok) throw new Error(`a stored ${what} is not valid JSON: ${parsed.error}`);
  return parsed.value as T;
}

/** The stored copy of `record` with `lastSeq` set, and `events` numbered from `firstSeq` on. */
export function numberEvents(taskId: string, events: readonly NewTaskEvent[], firstSeq: number): BusEvent[] {
  return events.map((event, index) => ({ ...event, taskId, seq: firstSeq + index }));
}
