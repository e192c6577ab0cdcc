import { describe, expect, it } from "vitest";
import { readPlanAnswer } from "./plan-answer.js";

const OFFERED = new Set(["web.search", "text.summarize"]);
const PLAN = { steps: [{ id: "search", capability: "web.search" }, { id: "sum", capability: "text.summarize", dependsOn: ["search"] }] };

describe("readPlanAnswer", () => {
  it("reads the plan from bare JSON, a ```json fence, or braces inside prose, with the caller's goal", () => {
    for (const text of [JSON.stringify(PLAN), `Plan:\n\`\`\`json\n${JSON.stringify(PLAN)}\n\`\`\``, `Sure. ${JSON.stringify(PLAN)} Done.`]) {
      const answer = readPlanAnswer(text, "the goal", OFFERED);
      expect(answer.ok, text).toBe(true);
      if (answer.ok) expect(answer.plan).toMatchObject({ goal: "the goal", steps: [{ id: "search" }, { id: "sum", dependsOn: ["search"], retries: 2 }] });
    }
  });

  it("lists the problems: no JSON, not an object, the schema, a cycle, a capability nothing offers", () => {
    const problems = (text: string) => {
      const answer = readPlanAnswer(text, "g", OFFERED);
      return answer.ok ? [] : answer.problems.map((problem) => `${problem.path}: ${problem.message}`);
    };
    expect(problems("no plan here")[0]).toMatch(/^\(root\): the answer (is not valid JSON|holds no JSON)/);
    expect(problems("[1,2]")[0]).toContain("one JSON object");
    expect(problems(JSON.stringify({ steps: [{ id: "Bad Id", capability: "web.search" }] }))[0]).toMatch(/^steps\.0\.id: /);
    expect(problems(JSON.stringify({ steps: [{ id: "a", capability: "web.search", dependsOn: ["b"] }, { id: "b", capability: "web.search", dependsOn: ["a"] }] }))).toEqual(['steps: steps "a", "b" form a cycle']);
    expect(problems(JSON.stringify({ steps: [{ id: "a", capability: "video.render" }] }))).toEqual([
      'steps.0.capability: step "a" needs "video.render", which nothing available offers (use only the capabilities listed)',
    ]);
  });
});
