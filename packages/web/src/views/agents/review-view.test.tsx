// kReviewer in the agent center: a reviewed step's verdict (or "reviewing") shows in words in the steps table, in
// the graph's box (and its accessible name), and in full (reviewer, score, reasons) in the step's details; a
// "reviewing" left from an attempt the node ran again is not shown as current.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { PlanSchema, type StepRun } from "@kai/protocol";
import { layoutPlan } from "./plan-layout";
import { PlanGraph } from "./PlanGraph";
import { StepDetails, StepsTable } from "./StepsTable";

const AT = "2026-12-03T10:00:00.000Z";
const plan = PlanSchema.parse({
  goal: "g",
  steps: [
    { id: "draft", capability: "draft_text", review: true },
    { id: "check", capability: "fact_check", review: true },
    { id: "stale", capability: "other", review: true },
    { id: "publish", capability: "publish", dependsOn: ["draft", "check", "stale"] },
  ],
});
const runs: StepRun[] = [
  { id: "draft", capability: "draft_text", state: "completed", attempts: 2, assignee: "kWriter:careful", review: { state: "approved", reviewer: "kReviewer:picky", score: 0.8, reasons: ["clear", "sourced"], attempt: 2, at: AT } },
  { id: "check", capability: "fact_check", state: "running", attempts: 1, assignee: "kExecutor:checker", review: { state: "reviewing", attempt: 1, at: AT } },
  // Stopped while reviewed, and running again (attempt 2): its old "reviewing" is not current.
  { id: "stale", capability: "other", state: "running", attempts: 2, review: { state: "reviewing", attempt: 1, at: AT } },
  { id: "publish", capability: "publish", state: "pending", attempts: 0 },
];
const layout = layoutPlan({ plan, steps: runs });

afterEach(cleanup);

describe("reviews in the agent center", () => {
  it("shows each step's review in words in the table and the graph", () => {
    render(
      <>
        <PlanGraph layout={layout} runs={runs} selected={undefined} onSelect={() => undefined} />
        <StepsTable steps={layout.steps} runs={runs} selected={undefined} onSelect={() => undefined} />
      </>,
    );
    const rows = within(screen.getByRole("table", { name: "Steps" })).getAllByRole("row");
    expect(rows[1]!.textContent).toContain("review approved");
    expect(rows[2]!.textContent).toContain("reviewing");
    expect(rows[3]!.textContent).not.toContain("review");
    expect(rows[4]!.textContent).not.toContain("review");
    screen.getByRole("button", { name: "Step draft, draft_text, completed, review approved, by kWriter:careful" });
    screen.getByRole("button", { name: "Step check, fact_check, running, reviewing, by kExecutor:checker" });
    screen.getByRole("button", { name: "Step stale, other, running" });
  });

  it("shows the verdict in full in the step's details", () => {
    render(<StepDetails run={runs[0]!} />);
    const details = screen.getByRole("region", { name: "Step draft" });
    expect(details.textContent).toContain("review approved");
    expect(details.textContent).toContain("by kReviewer:picky");
    expect(details.textContent).toContain("score 0.8");
    expect(within(details).getAllByRole("listitem").map((item) => item.textContent)).toEqual(["clear", "sourced"]);
  });
});
