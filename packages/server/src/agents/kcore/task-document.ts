/**
 * @module agents/kcore/task-document
 * A task record's stored document (its JSON text) without serialising again, at every commit, what cannot have
 * changed: each write stored the whole record, so a chain of n steps serialised its plan n times and every finished
 * step run once per later step (O(n²) per task; ~3 % of a chained step's CPU at 20 steps, more for longer plans).
 * Here the plan's JSON is made once per plan object and a step run's once it is final (completed, failed, skipped,
 * canceled: kCore never changes such a run again, nor a task's plan after its create), and the rest is serialised
 * as before. The text is exactly `JSON.stringify(record)`: same keys, same order (task-document.test.ts checks it).
 */
import type { Plan, StepRun, Task } from "@kai/protocol";
import type { TaskRecord } from "../../storage/contracts/task-store.js";

const FINAL_RUN_STATES: ReadonlySet<StepRun["state"]> = new Set(["completed", "failed", "skipped", "canceled"]);

/** `JSON.stringify(value)` of an object, with `special` serialising the keys it knows (undefined: the usual way). */
function objectJson(value: object, special: (key: string, member: unknown) => string | undefined): string {
  let text = "{";
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    const json = special(key, member) ?? JSON.stringify(member);
    // As JSON.stringify does: a member that serialises to nothing (undefined, a function) is left out.
    if (json === undefined) continue;
    text += `${text.length > 1 ? "," : ""}${JSON.stringify(key)}:${json}`;
  }
  return `${text}}`;
}

/**
 * One task's document maker (its committer's): keeps its plan's JSON and its final runs' JSON for as long as the
 * task runs (plain fields, not WeakMaps: a weak entry per run is work for every garbage collection).
 */
export class TaskDocument {
  private plan: { value: Plan; text: string } | undefined;
  /** Final runs → their JSON, by the run object (a run replaced by another object is serialised again). */
  private readonly runs = new Map<StepRun, string>();

  /** The record's stored document: the same text as `JSON.stringify(record)`, made with less work. */
  of(record: TaskRecord): string {
    return objectJson(record, (key, member) => (key === "task" ? this.taskJson(member as Task) : undefined));
  }

  private taskJson(task: Task): string {
    return objectJson(task, (key, member) => {
      if (key === "plan" && member !== undefined && member !== null) return this.planJson(member as Plan);
      if (key === "steps" && Array.isArray(member)) return `[${(member as StepRun[]).map((run) => this.runJson(run)).join(",")}]`;
      return undefined;
    });
  }

  private planJson(plan: Plan): string {
    if (this.plan?.value !== plan) this.plan = { value: plan, text: JSON.stringify(plan) };
    return this.plan.text;
  }

  private runJson(run: StepRun): string {
    let text = this.runs.get(run);
    if (text !== undefined) return text;
    text = JSON.stringify(run);
    if (FINAL_RUN_STATES.has(run.state)) this.runs.set(run, text);
    return text;
  }
}
