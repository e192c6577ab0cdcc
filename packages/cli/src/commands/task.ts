/**
 * @module commands/task
 * `kai task run|show|list|cancel|answer`: kCore's tasks (issue 16). `run <goal…>` creates a task from a plan file
 * (`--plan`, YAML or JSON), for one agent (`--agent`) and/or a capability (`--capability`), or else planned by the
 * node's kPlanner; `--input` gives its input as JSON; `--wait` waits until it finishes (or asks a question) and
 * exits 1 when it failed or was canceled. `show` prints a task's steps; `answer <id> <json|text>` answers its
 * question. `--json` prints the node's documents.
 */
import { Command } from "commander";
import { CreateTaskRequestSchema, fieldErrorsFromZod, parseJson, TASK_STATES, type Review, type Task, type TaskState } from "@kai/protocol";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import type { KaiClient } from "@kai/sdk";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { readDocument } from "../input-file.js";
import { typedValue } from "./prompt.js";
import { cell, formatKeyValues } from "../output.js";

function jsonFlag(name: string, text: string): unknown {
  const parsed = parseJson(text);
  if (!parsed.ok) throw usageError(`${name} is not valid JSON: ${parsed.error}`);
  return parsed.value;
}

/** kReviewer's verdict in a few words: "approved by kReviewer:x (0.9)", "rejected by …: reason; reason", "reviewing". */
function reviewText(review: Review | undefined): string | undefined {
  if (!review) return undefined;
  if (review.state === "reviewing") return "reviewing";
  const score = review.score !== undefined ? ` (${review.score})` : "";
  const reasons = review.state === "rejected" && review.reasons && review.reasons.length > 0 ? `: ${review.reasons.join("; ")}` : "";
  return `${review.state} by ${review.reviewer ?? "a reviewer"}${score}${reasons}`;
}

function stepRows(task: Task): string[][] {
  return task.steps.map((step) => [step.id, step.capability, step.state, cell(step.assignee), String(step.attempts), cell(step.error ? `${step.error.code}: ${step.error.message}` : undefined)]);
}

function printTask(out: ReturnType<typeof contextOf>["out"], task: Task): void {
  if (out.json) return out.document({ task });
  const pairs: [string, string][] = [
    ["id", task.id],
    ["goal", task.goal],
    ["state", task.state],
    ["plan", cell(task.planId)],
    ["updated", task.updatedAt],
  ];
  // Where its steps' spans and log lines are: the trace (when the node traces), and the task's own id for the lines.
  if (task.traceId !== undefined) pairs.push(["trace", `${task.traceId} (its log lines: kai logs search --task ${task.id})`]);
  if (task.question) pairs.push(["question", `${task.question.prompt} (step ${task.question.step}; answer with: kai task answer ${task.id} <answer>)`]);
  if (task.error) pairs.push(["error", `${task.error.message} (${task.error.code})`]);
  if (task.review) pairs.push(["review", reviewText(task.review)!]);
  if (task.result !== undefined) pairs.push(["result", JSON.stringify(task.result)]);
  out.line(formatKeyValues(pairs));
  out.line("");
  out.table(["STEP", "CAPABILITY", "STATE", "ASSIGNEE", "ATTEMPTS", "ERROR"], stepRows(task), "no steps");
  // kReviewer's verdicts, for the steps that were reviewed (most are not: no column for them).
  const reviewed = task.steps.filter((step) => step.review !== undefined);
  if (reviewed.length > 0) {
    out.line("");
    out.table(["STEP", "REVIEW"], reviewed.map((step) => [step.id, reviewText(step.review)!]), "no reviewed steps");
  }
}

/** Exit 1 for a task that ended without completing (a script waiting on it must see that). */
function finish(task: Task): void {
  if (task.state === "failed" || task.state === "canceled" || task.state === "rejected") {
    throw new CliError(`task ${task.id} ${task.state}${task.error ? `: ${task.error.message}` : ""}`, task.error?.code ?? task.state, EXIT.unexpected);
  }
}

interface RunFlags {
  plan?: string;
  agent?: string;
  capability?: string;
  input?: string;
  context?: string;
  idempotencyKey?: string;
  prompt?: string;
  promptVersion?: number;
  promptLabel?: string;
  var?: string[];
  wait?: boolean;
  timeout?: string;
}

function runCommand(): Command {
  const command = new Command("run")
    .description("create a task: from a plan file, for an agent or a capability, or planned by the node (scope tasks:run)")
    .argument("<goal...>", "what should be done, in words")
    .option("--plan <file>", "a plan (YAML or JSON: {goal?, steps}); `-` reads stdin")
    .option("--agent <id>", "one step for this agent (kClass:name)")
    .option("--capability <capability>", "one step for whatever offers this capability")
    .option("--input <json>", "the task's input, a JSON object")
    .option("--context <json>", "context for the planner, a JSON object")
    .option("--idempotency-key <key>", "repeating the run with this key returns the task made first")
    .option("--prompt <name>", "a stored prompt rendered into the step's input at dispatch (with --agent/--capability; scope prompts:read)")
    .option("--prompt-version <n>", "with --prompt: this version", integerOption(1))
    .option("--prompt-label <label>", "with --prompt: the version this label points at")
    .option("--var <name=value>", "with --prompt: a variable's value, as its declared type (repeatable)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option("--wait", "wait until the task finishes or asks a question")
    .option("--timeout <seconds>", "with --wait: give up after this long", "300");
  addGlobalOptions(command);
  return command.action(async (goalWords: string[], flags: RunFlags, self: Command) => {
    const { out, client } = contextOf(self);
    const goal = goalWords.join(" ");
    let plan: unknown;
    if (flags.plan !== undefined) {
      const document = (await readDocument(flags.plan)) as Record<string, unknown>;
      plan = typeof document === "object" && document !== null && !Array.isArray(document) ? { goal, ...document } : document;
    }
    const request = CreateTaskRequestSchema.safeParse({
      goal,
      ...(plan !== undefined ? { plan } : {}),
      ...(flags.agent !== undefined ? { agent: flags.agent } : {}),
      ...(flags.capability !== undefined ? { capability: flags.capability } : {}),
      ...(flags.input !== undefined ? { input: jsonFlag("--input", flags.input) } : {}),
      ...(flags.context !== undefined ? { context: jsonFlag("--context", flags.context) } : {}),
      ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
      ...(flags.prompt !== undefined ? { prompt: await promptReference(client(), flags.prompt, flags) } : {}),
    });
    if (!request.success) throw new CliError("invalid task", "validation_failed", EXIT.validation, fieldErrorsFromZod(request.error));
    let task = await client().tasks.create(request.data);
    if (!flags.wait) {
      if (out.json) return out.document({ task });
      out.line(task.id);
      out.info(`task ${task.id} ${task.state}; follow it with: kai task show ${task.id}`);
      return;
    }
    const seconds = Number(flags.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw usageError("--timeout must be a number of seconds");
    task = await client().tasks.wait(task.id, { timeoutMs: seconds * 1000, intervalMs: 250 });
    printTask(out, task);
    finish(task);
  });
}

/**
 * `--prompt` with its version or label and `--var name=value`s: the version is read first (pinned, so a label that moves
 * meanwhile changes nothing) and each value turned into its declared type, as `kai prompt render` does.
 */
async function promptReference(client: KaiClient, name: string, flags: RunFlags): Promise<Record<string, unknown>> {
  const chosen = await client.prompts.get(name, { ...(flags.promptVersion !== undefined ? { version: flags.promptVersion } : {}), ...(flags.promptLabel !== undefined ? { label: flags.promptLabel } : {}) });
  const declared = new Map(chosen.version.variables.map((variable) => [variable.name, variable]));
  const variables: Record<string, unknown> = {};
  for (const pair of flags.var ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw usageError(`--var ${pair}: expected name=value`);
    variables[pair.slice(0, at)] = typedValue(declared.get(pair.slice(0, at)), pair.slice(at + 1));
  }
  return { name, version: chosen.version.version, variables };
}

function showCommand(): Command {
  const command = new Command("show").description("a task: its state, steps, result or question (scope agents:read)").argument("<id>", "the task's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    printTask(out, await client().tasks.get(id));
  });
}

function listCommand(): Command {
  const command = new Command("list")
    .alias("ls")
    .description("your tasks, newest first (every task for an admin; scope agents:read)")
    .option("--state <state...>", `only these states (${TASK_STATES.join(", ")})`)
    .option("--limit <n>", "at most this many", "50");
  addGlobalOptions(command);
  return command.action(async (flags: { state?: string[]; limit: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const bad = (flags.state ?? []).filter((state) => !(TASK_STATES as readonly string[]).includes(state));
    if (bad.length > 0) throw usageError(`unknown state ${bad.join(", ")}: one of ${TASK_STATES.join(", ")}`);
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw usageError("--limit must be 1 to 500");
    const page = await client().tasks.list({ ...(flags.state ? { state: flags.state as TaskState[] } : {}), limit });
    if (out.json) return out.document(page);
    out.table(
      ["ID", "STATE", "STEPS", "UPDATED", "GOAL"],
      page.tasks.map((task) => [task.id, task.state, `${task.steps.filter((step) => step.state === "completed").length}/${task.steps.length}`, task.updatedAt, task.goal.slice(0, 60)]),
      "no tasks",
    );
  });
}

function cancelCommand(): Command {
  const command = new Command("cancel").description("cancel a task; its running steps are stopped (scope tasks:run)").argument("<id>", "the task's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const task = await client().tasks.cancel(id);
    if (out.json) return out.document({ task });
    out.info(`task ${task.id} ${task.state}`);
  });
}

function answerCommand(): Command {
  const command = new Command("answer")
    .description("answer a task's question (input-required); JSON is sent as JSON, anything else as text (scope tasks:run)")
    .argument("<id>", "the task's id")
    .argument("<answer...>", "the answer");
  addGlobalOptions(command);
  return command.action(async (id: string, words: string[], _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const text = words.join(" ");
    const parsed = parseJson(text);
    const task = await client().tasks.answer(id, parsed.ok ? parsed.value : text);
    if (out.json) return out.document({ task });
    out.info(`task ${task.id} ${task.state}`);
  });
}

export function taskCommand(): Command {
  return new Command("task")
    .description("tasks run by the node's kCore across agents, tools and gateway capabilities")
    .addCommand(runCommand())
    .addCommand(showCommand())
    .addCommand(listCommand())
    .addCommand(cancelCommand())
    .addCommand(answerCommand());
}
