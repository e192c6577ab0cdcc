/**
 * @module commands/plan
 * `kai plan <goal…> [--context json] [--model m] [--json]`: asks the node's kPlanner for a plan (scope `tasks:run`)
 * and prints its steps as a table in running order, each indented under the steps it waits for, with the capability,
 * the agent chosen (`-`: kCore gives the step to a tool or a gateway service) and where its inputs come from. Which
 * model wrote the plan and after how many attempts goes to stderr, so stdout stays the plan.
 */
import { Command } from "commander";
import { fieldErrorsFromZod, parseJson, PlanRequestSchema, type Plan, type PlanResponse } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { cell, listCell } from "../output.js";

interface PlanFlags {
  context?: string;
  model?: string;
}

/** Steps in running order (each after everything it depends on), with their depth in the graph. */
export function orderSteps(plan: Plan): Array<{ step: Plan["steps"][number]; depth: number }> {
  const depth = new Map<string, number>();
  const ordered: Array<{ step: Plan["steps"][number]; depth: number }> = [];
  const left = [...plan.steps];
  // The server checked the plan is a DAG, so every round places at least one step.
  while (left.length > 0) {
    const index = left.findIndex((step) => step.dependsOn.every((id) => depth.has(id)));
    if (index < 0) break;
    const [step] = left.splice(index, 1);
    const level = Math.max(-1, ...step!.dependsOn.map((id) => depth.get(id) ?? 0)) + 1;
    depth.set(step!.id, level);
    ordered.push({ step: step!, depth: level });
  }
  return ordered;
}

function inputsFrom(step: Plan["steps"][number]): string[] {
  return Object.entries(step.inputsFrom).map(([name, ref]) => `${name}←${ref.step}${ref.path ? `.${ref.path}` : ""}`);
}

function printPlan(answer: PlanResponse): string[][] {
  return orderSteps(answer.plan).map(({ step, depth }) => [
    `${"  ".repeat(depth)}${depth > 0 ? "└ " : ""}${step.id}`,
    step.capability,
    cell(step.agent),
    listCell(step.dependsOn),
    listCell(inputsFrom(step)),
    cell(step.description),
  ]);
}

export function planCommand(): Command {
  const command = new Command("plan")
    .description("ask the node's planner (kPlanner) for a plan of steps for a goal (scope tasks:run)")
    .argument("<goal...>", "what should be done, in words")
    .option("--context <json>", "context for the planner, a JSON object")
    .option("--model <model>", "the language model to plan with (default: the node's agents.planner.model, else one you may use)");
  addGlobalOptions(command);
  return command.action(async (goalWords: string[], flags: PlanFlags, self: Command) => {
    const { out, client } = contextOf(self);
    let context: unknown;
    if (flags.context !== undefined) {
      const parsed = parseJson(flags.context);
      if (!parsed.ok) throw new CliError(`--context is not valid JSON: ${parsed.error}`, "usage", EXIT.usage);
      context = parsed.value;
    }
    const request = PlanRequestSchema.safeParse({
      goal: goalWords.join(" "),
      ...(context !== undefined ? { context } : {}),
      ...(flags.model !== undefined ? { model: flags.model } : {}),
    });
    if (!request.success) throw new CliError("invalid plan request", "validation_failed", EXIT.validation, fieldErrorsFromZod(request.error));
    const answer = await client().planner.plan(request.data);
    if (out.json) return out.document(answer);
    out.table(["STEP", "CAPABILITY", "AGENT", "AFTER", "INPUTS", "DESCRIPTION"], printPlan(answer), "the plan has no steps");
    out.info(`plan ${answer.planId} for "${answer.plan.goal}" by ${answer.model} (${answer.attempts} attempt${answer.attempts === 1 ? "" : "s"})`);
  });
}
