// The plan graph's layout: each step one column right of the deepest step it waits on, rows in plan order, an
// edge per dependency from the right side of one box to the left side of the next; live states override.
import { describe, expect, it } from "vitest";
import { PlanSchema, type Task } from "@kai/protocol";
import { layoutPlan, NODE_WIDTH } from "./plan-layout";

const plan = PlanSchema.parse({
  goal: "g",
  steps: [
    { id: "a", capability: "web_fetch" },
    { id: "b", capability: "llm_chat" },
    { id: "c", capability: "text_combine", dependsOn: ["a", "b"] },
    { id: "d", capability: "publish", dependsOn: ["c", "a"] },
  ],
});
const task: Pick<Task, "plan" | "steps"> = {
  plan,
  steps: [
    { id: "a", capability: "web_fetch", state: "completed", attempts: 1, assignee: "kExecutor:fetcher" },
    { id: "b", capability: "llm_chat", state: "running", attempts: 1 },
    { id: "c", capability: "text_combine", state: "pending", attempts: 0 },
    { id: "d", capability: "publish", state: "pending", attempts: 0 },
  ],
};

describe("layoutPlan", () => {
  it("puts each step one layer past its deepest dependency, in plan order within a layer", () => {
    const layout = layoutPlan(task);
    expect(layout.steps.map((step) => [step.id, step.layer])).toEqual([["a", 0], ["b", 0], ["c", 1], ["d", 2]]);
    const [a, b, c] = layout.steps;
    expect(a!.x).toBe(b!.x);
    expect(b!.y).toBeGreaterThan(a!.y);
    expect(c!.x).toBeGreaterThan(a!.x + NODE_WIDTH);
    expect(layout.edges.map((edge) => `${edge.from}->${edge.to}`)).toEqual(["a->c", "b->c", "c->d", "a->d"]);
    for (const edge of layout.edges) expect(edge.x2).toBeGreaterThan(edge.x1);
    expect(layout.width).toBeGreaterThan(layout.steps.at(-1)!.x + NODE_WIDTH - 1);
  });

  it("shows states from newer events over the task as read, and the assignee", () => {
    const layout = layoutPlan(task, new Map([["b", "completed"]]));
    expect(layout.steps.map((step) => step.state)).toEqual(["completed", "completed", "pending", "pending"]);
    expect(layout.steps[0]!.assignee).toBe("kExecutor:fetcher");
  });

  it("lays out a task without a plan as its steps side by side", () => {
    const layout = layoutPlan({ steps: [{ id: "only", capability: "web_fetch", state: "failed", attempts: 3 }] });
    expect(layout.steps).toMatchObject([{ id: "only", layer: 0, state: "failed", dependsOn: [] }]);
    expect(layout.edges).toEqual([]);
  });
});
