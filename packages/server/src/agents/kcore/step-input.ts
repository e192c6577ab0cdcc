/**
 * @module agents/kcore/step-input
 * A step's input when it starts: its literal input, with each `inputsFrom` entry replaced by the named earlier
 * step's output (or the part of it a dot path names; a missing part is null, so the agent sees what is absent).
 */
import type { PlanStep, StepRun } from "@kai/protocol";

function pick(value: unknown, path: string | undefined): unknown {
  if (path === undefined || path === "") return value;
  let current: unknown = value;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return null;
    current = (current as Record<string, unknown>)[key];
  }
  return current === undefined ? null : current;
}

export function stepInput(step: PlanStep, runs: readonly StepRun[]): Record<string, unknown> {
  const input: Record<string, unknown> = { ...step.input };
  for (const [name, ref] of Object.entries(step.inputsFrom)) {
    input[name] = pick(runs.find((run) => run.id === ref.step)?.output, ref.path);
  }
  return input;
}
