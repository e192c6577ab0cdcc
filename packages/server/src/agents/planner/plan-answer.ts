/**
 * @module agents/planner/plan-answer
 * Reads a model's answer as a plan: the JSON (the whole text, or inside a ```json fence, or the outermost braces, as
 * models wrap it), validated with the protocol's PlanSchema (shape and DAG) and against what the caller can use now
 * (every step's capability must be offered by something in the catalogue). Either a plan or the list of problems,
 * which the planner sends back to the model when it asks again.
 */
import { fieldErrorsFromZod, parseJson, PlanSchema, type FieldError, type Plan } from "@kai/protocol";

export type PlanAnswer = { ok: true; plan: Plan } | { ok: false; problems: FieldError[] };

/** The JSON text candidates in a model's answer, most likely first. */
function jsonCandidates(text: string): string[] {
  const candidates = [text.trim()];
  for (const match of text.matchAll(/```(?:json|JSON)?\s*\n?([\s\S]*?)```/g)) candidates.push((match[1] ?? "").trim());
  const first = text.indexOf("{");
  const last = text.lastIndexOf("}");
  if (first >= 0 && last > first) candidates.push(text.slice(first, last + 1));
  return candidates.filter((candidate) => candidate.length > 0);
}

function extractJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  let lastError = "the answer holds no JSON object";
  for (const candidate of jsonCandidates(text)) {
    const parsed = parseJson(candidate);
    if (parsed.ok) return { ok: true, value: parsed.value };
    lastError = `the answer is not valid JSON: ${parsed.error}`;
  }
  return { ok: false, problem: lastError };
}

/**
 * Parses and checks one answer. `goal` is the caller's goal: the plan carries it whatever the model wrote there (the
 * model plans the goal, it does not restate it). `offered` are the capabilities available to the caller.
 */
export function readPlanAnswer(text: string, goal: string, offered: ReadonlySet<string>): PlanAnswer {
  const json = extractJson(text);
  if (!json.ok) return { ok: false, problems: [{ path: "(root)", message: json.problem }] };
  if (json.value === null || typeof json.value !== "object" || Array.isArray(json.value)) {
    return { ok: false, problems: [{ path: "(root)", message: "the answer must be one JSON object {\"goal\", \"steps\"}" }] };
  }
  const parsed = PlanSchema.safeParse({ ...(json.value as Record<string, unknown>), goal });
  if (!parsed.success) return { ok: false, problems: fieldErrorsFromZod(parsed.error) };
  const problems: FieldError[] = [];
  parsed.data.steps.forEach((step, index) => {
    if (!offered.has(step.capability)) {
      problems.push({ path: `steps.${index}.capability`, message: `step "${step.id}" needs "${step.capability}", which nothing available offers (use only the capabilities listed)` });
    }
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, plan: parsed.data };
}
