/**
 * @module views/agents/plan-layout
 * Lays a task's plan out as a graph: each step in a layer one past the deepest step it depends on (so every edge
 * points to the right), steps within a layer in plan order. Pure arithmetic, no DOM: the SVG (PlanGraph) draws it
 * and the tests can check it. A task without a plan (or a step the plan does not name) gets its steps in layer 0.
 */
import type { StepRun, StepState, Task } from "@kai/protocol";

export const NODE_WIDTH = 176;
export const NODE_HEIGHT = 64;
const GAP_X = 56;
const GAP_Y = 20;
const MARGIN = 8;

export interface LaidStep {
  id: string;
  capability: string;
  state: StepState;
  assignee: string | undefined;
  dependsOn: string[];
  layer: number;
  x: number;
  y: number;
}

export interface PlanLayout {
  steps: LaidStep[];
  edges: { from: string; to: string; x1: number; y1: number; x2: number; y2: number }[];
  width: number;
  height: number;
}

/** Steps in plan order with their dependencies and current run state (`states` overrides the task's, from live events). */
export function layoutPlan(task: Pick<Task, "plan" | "steps">, states: ReadonlyMap<string, StepState> = new Map()): PlanLayout {
  const runs = new Map<string, StepRun>(task.steps.map((run) => [run.id, run]));
  const planned = task.plan?.steps ?? task.steps.map((run) => ({ id: run.id, capability: run.capability, dependsOn: [] as string[] }));
  const known = new Set(planned.map((step) => step.id));
  const layers = new Map<string, number>();
  // A plan is a DAG (the node checked it); the guard only keeps a malformed one from looping.
  const layerOf = (id: string, depth = 0): number => {
    const cached = layers.get(id);
    if (cached !== undefined) return cached;
    const step = planned.find((candidate) => candidate.id === id);
    const deps = (step?.dependsOn ?? []).filter((dep) => known.has(dep));
    const layer = depth > planned.length ? 0 : deps.reduce((deepest, dep) => Math.max(deepest, layerOf(dep, depth + 1) + 1), 0);
    layers.set(id, layer);
    return layer;
  };
  const rows = new Map<number, number>();
  const steps: LaidStep[] = planned.map((step) => {
    const layer = layerOf(step.id);
    const row = rows.get(layer) ?? 0;
    rows.set(layer, row + 1);
    const run = runs.get(step.id);
    return {
      id: step.id,
      capability: run?.capability ?? step.capability,
      state: states.get(step.id) ?? run?.state ?? "pending",
      assignee: run?.assignee,
      dependsOn: step.dependsOn.filter((dep) => known.has(dep)),
      layer,
      x: MARGIN + layer * (NODE_WIDTH + GAP_X),
      y: MARGIN + row * (NODE_HEIGHT + GAP_Y),
    };
  });
  const byId = new Map(steps.map((step) => [step.id, step]));
  const edges = steps.flatMap((step) =>
    step.dependsOn.map((dep) => {
      const from = byId.get(dep)!;
      return { from: dep, to: step.id, x1: from.x + NODE_WIDTH, y1: from.y + NODE_HEIGHT / 2, x2: step.x, y2: step.y + NODE_HEIGHT / 2 };
    }),
  );
  const layerCount = Math.max(1, ...steps.map((step) => step.layer + 1));
  const rowCount = Math.max(1, ...rows.values());
  return {
    steps,
    edges,
    width: MARGIN * 2 + layerCount * NODE_WIDTH + (layerCount - 1) * GAP_X,
    height: MARGIN * 2 + rowCount * NODE_HEIGHT + (rowCount - 1) * GAP_Y,
  };
}
