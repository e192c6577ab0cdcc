/**
 * @module agents/planner/planner-prompt
 * The messages kPlanner sends the model: a system prompt stating the plan's JSON Schema (generated from the
 * protocol's PlanSchema, so the prompt and the validation cannot drift apart), the DAG rules the schema cannot say,
 * when to ask for a review (kReviewer, docs/agents/review.md), and the capabilities the caller can use now; the goal and context as the user's message; and, after an invalid
 * answer, the problems found, so the model can correct itself.
 */
import { z } from "zod";
import { PlanSchema, type FieldError, type PlanRequest } from "@kai/protocol";
import type { CapabilityCatalog } from "./capability-catalog.js";

/** The plan's JSON Schema, as a plan is written (defaults optional). Computed once: the schema never changes. */
const PLAN_JSON_SCHEMA = JSON.stringify(z.toJSONSchema(PlanSchema, { io: "input", unrepresentable: "any" }));

/** Keeps one catalogue line readable and the prompt bounded. */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const MAX_OFFERS_SHOWN = 8;

function describeCatalog(catalog: CapabilityCatalog): string {
  const lines: string[] = [];
  for (const [capability, offers] of [...catalog.capabilities].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const shown = offers.slice(0, MAX_OFFERS_SHOWN).join(", ");
    const more = offers.length > MAX_OFFERS_SHOWN ? ` and ${offers.length - MAX_OFFERS_SHOWN} more` : "";
    lines.push(`- ${capability}: offered by ${shown}${more}`);
  }
  const agents = catalog.agents
    .filter((agent) => agent.healthy)
    .map((agent) => `- ${agent.id} (${clip(agent.name, 80)}): ${agent.skills.map((skill) => `${skill.capability} — ${clip(skill.name, 80)}${skill.description ? `: ${clip(skill.description, 200)}` : ""}`).join("; ")}`);
  return [`Capabilities available (use only these):`, ...lines, ...(agents.length > 0 ? [``, `Agents and their skills:`, ...agents] : [])].join("\n");
}

/** `model` is the model being asked: the natural default for the llm_chat steps it plans. */
export function systemPrompt(catalog: CapabilityCatalog, model: string): string {
  return [
    `You are kPlanner, the planner of an agent mesh. Break the user's goal into a plan: a directed acyclic graph of steps.`,
    `Answer with exactly one JSON object and nothing else (no prose; a \`\`\`json fence is tolerated). It must match this JSON Schema:`,
    PLAN_JSON_SCHEMA,
    `Rules:`,
    `- Each step needs one capability from the list below; "agent" may name an agent offering it (leave it out if unsure).`,
    `- Step ids are unique, lower-case (letters, digits, _ and -), starting with a letter.`,
    `- "dependsOn" lists the steps that must finish first; there must be no cycle.`,
    `- "inputsFrom" wires an input to an earlier step's output ({"step": id, "path": optional dot path}); that step must be in "dependsOn".`,
    `- Literal inputs go in "input". Independent steps run in parallel. Use as few steps as the goal needs.`,
    `- Set "review": true on a step whose output is risky to rely on unchecked (it acts on the outside world, or is a claim later steps build on): a reviewer checks it before its dependants run. Leave it out otherwise (each review costs time).`,
    `- A capability offered only by a service is a gateway call: its "input" is the request itself, e.g. for llm_chat {"model": ${JSON.stringify(model)}, "messages": [{"role": "user", "content": "…"}]}, for embeddings {"model": "…", "input": "…"}.`,
    ``,
    describeCatalog(catalog),
  ].join("\n");
}

export function goalMessage(request: PlanRequest): string {
  const context = request.context !== undefined ? `\n\nContext (JSON):\n${JSON.stringify(request.context)}` : "";
  return `Goal: ${request.goal}${context}`;
}

/** The next message after an invalid answer: what was wrong, and that only the JSON is wanted. */
export function correctionMessage(problems: readonly FieldError[]): string {
  return [
    `That answer is not a valid plan. Problems:`,
    ...problems.slice(0, 20).map((problem) => `- ${problem.path}: ${problem.message}`),
    `Answer again with the corrected plan as one JSON object only.`,
  ].join("\n");
}
