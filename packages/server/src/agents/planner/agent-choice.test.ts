import { describe, expect, it } from "vitest";
import type { Plan } from "@kai/protocol";
import type { AgentLoad } from "../ports.js";
import type { AgentOffer } from "./capability-catalog.js";
import { chooseAgents, lateBoundAgentLoad, NO_LOAD } from "./agent-choice.js";

const agent = (id: string, extra: Partial<AgentOffer> = {}): AgentOffer => ({
  id,
  name: id,
  healthy: true,
  trustLevel: "unverified",
  maxConcurrentTasks: 2,
  capabilities: new Set(["text.summarize"]),
  skills: [],
  ...extra,
});
const plan = (pick?: string): Plan => ({
  goal: "g",
  steps: [{ id: "sum", description: "", capability: "text.summarize", input: {}, inputsFrom: {}, dependsOn: [], retries: 2, review: false, ...(pick ? { agent: pick } : {}) }],
});
const loadOf = (running: Record<string, number>): AgentLoad => ({ of: (id) => ({ running: running[id] ?? 0, tasks: [] }) });
const chosen = (agents: AgentOffer[], load: AgentLoad, pick?: string) => chooseAgents(plan(pick), agents, load).steps[0]?.agent;

describe("chooseAgents", () => {
  it("keeps the model's pick when it is healthy and offers the capability", () => {
    expect(chosen([agent("kA:a", { trustLevel: "system" }), agent("kB:b")], NO_LOAD, "kB:b")).toBe("kB:b");
  });

  it("otherwise takes an agent with room, then the least loaded, then the most trusted", () => {
    const agents = [agent("kA:a", { trustLevel: "trusted" }), agent("kB:b"), agent("kC:c", { healthy: false, trustLevel: "system" })];
    expect(chosen(agents, NO_LOAD, "kC:c")).toBe("kA:a");
    expect(chosen(agents, loadOf({ "kA:a": 1 }), "kZ:unknown")).toBe("kB:b");
    expect(chosen(agents, loadOf({ "kA:a": 2, "kB:b": 5 }))).toBe("kA:a"); // both full: the less loaded
    expect(chosen([agent("kA:a", { capabilities: new Set(["other"]) })], NO_LOAD, "kA:a")).toBeUndefined();
  });

  it("uses kCore's load once bound", () => {
    const late = lateBoundAgentLoad();
    const agents = [agent("kA:a", { trustLevel: "trusted" }), agent("kB:b")];
    expect(chosen(agents, late.port)).toBe("kA:a");
    late.bind(loadOf({ "kA:a": 1 }));
    expect(chosen(agents, late.port)).toBe("kB:b");
  });
});
