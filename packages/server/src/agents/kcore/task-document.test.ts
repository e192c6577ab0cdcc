import { describe, expect, it } from "vitest";
import type { Task } from "@kai/protocol";
import type { TaskRecord } from "../../storage/contracts/task-store.js";
import { TaskDocument } from "./task-document.js";

function record(): TaskRecord {
  const task: Task = {
    id: "task_1",
    goal: "a \"quoted\" goal\n",
    state: "working",
    owner: "alice",
    createdAt: "2026-12-05T00:00:00.000Z",
    updatedAt: "2026-12-05T00:00:00.000Z",
    planId: "plan_1",
    plan: {
      goal: "g",
      steps: [
        { id: "a", description: "", capability: "echo", input: { n: 1 }, inputsFrom: {}, dependsOn: [], retries: 0, review: false },
        { id: "b", description: "then", capability: "echo", input: {}, dependsOn: ["a"], inputsFrom: { x: { step: "a", path: "y" } }, retries: 2, review: true },
      ],
    },
    steps: [
      { id: "a", capability: "echo", state: "running", attempts: 1, assignee: "kA:one" },
      { id: "b", capability: "echo", state: "pending", attempts: 0 },
    ],
    lastSeq: 3,
  };
  return { task, spec: { input: { text: "é ✓" }, principal: { owner: "alice", scopes: ["tasks:run"], tokenId: "t" }, excluded: {}, answers: {} }, runner: "node#1" };
}

describe("taskDocument", () => {
  it("is JSON.stringify of the record, as the record changes between commits", () => {
    const r = record();
    const document = new TaskDocument();
    const taskDocument = (value: TaskRecord) => document.of(value);
    expect(taskDocument(r)).toBe(JSON.stringify(r));
    // A run finishes (its JSON is kept from now on), the next one starts, fields come and go.
    const [a, b] = r.task.steps;
    a!.state = "completed";
    a!.output = { y: [1, 2, { z: null }] };
    a!.finishedAt = "2026-12-05T00:00:01.000Z";
    b!.state = "running";
    b!.attempts = 1;
    (r.task as { result?: unknown }).result = undefined;
    r.task.updatedAt = "2026-12-05T00:00:02.000Z";
    expect(taskDocument(r)).toBe(JSON.stringify(r));
    expect(taskDocument(r)).toBe(JSON.stringify(r));
    b!.state = "failed";
    b!.error = { code: "x", message: "no" };
    r.task.state = "failed";
    r.runner = null;
    expect(taskDocument(r)).toBe(JSON.stringify(r));
    delete r.runner;
    delete r.task.plan;
    expect(taskDocument(r)).toBe(JSON.stringify(r));
  });
});
