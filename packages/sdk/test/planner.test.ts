/**
 * `client.planner.plan` against a real node whose language model is the fake OpenAI server with scripted answers: the
 * plan parsed with its protocol schema, and the planner's refusals as KaiApiErrors with the API's codes (422
 * plan_invalid with the problems in `details`, 503 planner_unavailable, 403 without tasks:run).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { definition, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";
import { OPENAI_MODEL } from "../../server/test/gateway/fakes/openai-fake.js";
import { startScriptedOpenAI, type ScriptedOpenAI } from "../../server/test/agents/planner/scripted-openai.js";

let registry: RegistryFixture;
let llm: ScriptedOpenAI;
let alice: KaiClient;

const PLAN = { steps: [{ id: "answer", capability: "llm_chat", input: { prompt: "hello" } }] };

beforeAll(async () => {
  llm = await startScriptedOpenAI();
  registry = await startRegistry();
  await registry.admin.services.register(definition("sdk-llm", { url: llm.fake.url, owner: "alice", visibility: "private", metadata: { models: [OPENAI_MODEL] } }));
  alice = await registry.clientWith(["tasks:run"], "alice");
});
afterAll(async () => {
  await registry?.close();
  await llm?.fake.close();
});

describe("client.planner", () => {
  it("plans a goal", async () => {
    llm.script(JSON.stringify(PLAN));
    const answer = await alice.planner.plan({ goal: "say hello", model: OPENAI_MODEL });
    expect(answer).toMatchObject({ model: OPENAI_MODEL, attempts: 1, plan: { goal: "say hello", steps: [{ id: "answer", capability: "llm_chat", dependsOn: [], retries: 2 }] } });
  });

  it("reports an answer that never becomes a plan as plan_invalid with the problems", async () => {
    llm.script("no", "still no", "never");
    const error = await alice.planner.plan({ goal: "say hello" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KaiApiError);
    expect(error).toMatchObject({ status: 422, code: "plan_invalid" });
    expect((error as KaiApiError).details?.[0]?.message).toMatch(/JSON/);
  });

  it("reports no usable model as planner_unavailable, and a missing scope as forbidden", async () => {
    const bob = await registry.clientWith(["tasks:run"], "bob");
    await expect(bob.planner.plan({ goal: "say hello" })).rejects.toMatchObject({ status: 503, code: "planner_unavailable" });
    const reader = await registry.clientWith(["services:read"], "alice");
    await expect(reader.planner.plan({ goal: "say hello" })).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });
});
