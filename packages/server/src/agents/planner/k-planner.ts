/**
 * @module agents/planner/k-planner
 * kPlanner: turns a goal into a plan by asking a language model through this node's own gateway, as the caller (the
 * caller's token decides which services and models it may use, and the call counts as theirs). The answer must be a
 * valid PlanSchema plan using only capabilities the caller can use now; an invalid answer is sent back with its
 * problems, up to `agents.planner.attempts` answers, then 422 `plan_invalid`. With no model the caller may use, 503
 * `planner_unavailable` says so: the planner never invents a plan. Each step's agent is then decided (agent-choice.ts).
 */
import { randomUUID } from "node:crypto";
import type { ChatMessage, FieldError, PlanRequest, PlanResponse } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { Config } from "../../config/config-schema.js";
import { ApiError } from "../../errors.js";
import type { GatewayPort } from "../../http/front-doors/gateway-port.js";
import type { Logger } from "../../logging/logger.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { AgentLoad, PlanCallOptions, Planner } from "../ports.js";
import { chooseAgents } from "./agent-choice.js";
import { readCapabilityCatalog } from "./capability-catalog.js";
import { readPlanAnswer } from "./plan-answer.js";
import { correctionMessage, goalMessage, systemPrompt } from "./planner-prompt.js";

export interface KPlannerDeps {
  gateway: Pick<GatewayPort, "route" | "models">;
  registry: Pick<RegistryService, "list">;
  /** kCore's view of the steps running on each agent (agent-choice prefers the least loaded). */
  load: AgentLoad;
  /** `agents.planner` in this agent's view of the configuration (its overrides file applied), read once per plan. */
  settings: () => Config["agents"]["planner"];
  logger: Logger;
}

/** The node's planner agent: its overrides file is `kPlanner.main.yaml` (config/layers/agent-layers.ts). */
export const PLANNER_AGENT = "kPlanner:main";


/** The gateway's answers that mean "no model for you here": the planner turns them into `planner_unavailable`. */
const NO_MODEL_CODES: ReadonlySet<string> = new Set(["capability_not_found", "model_not_found", "no_service_available"]);

/** Model names that are plainly not chat models (an OpenAI-compatible service lists its embedding models too). */
const NOT_CHAT = /embed|whisper|tts|dall-e|rerank/i;

const summary = (problems: readonly FieldError[]) =>
  problems
    .slice(0, 3)
    .map((problem) => `${problem.path}: ${problem.message}`)
    .join("; ") + (problems.length > 3 ? ` (and ${problems.length - 3} more)` : "");

export class KPlanner implements Planner {
  constructor(private readonly deps: KPlannerDeps) {}

  async plan(request: PlanRequest, principal: Principal, options: PlanCallOptions = {}): Promise<PlanResponse> {
    const planId = `plan_${randomUUID()}`;
    const log = this.deps.logger.child({ planId });
    const settings = this.deps.settings();
    const [model, catalog] = await Promise.all([this.chooseModel(request, principal, settings), readCapabilityCatalog(this.deps.registry, principal)]);
    const offered = new Set(catalog.capabilities.keys());
    const messages: ChatMessage[] = [
      { role: "system", content: systemPrompt(catalog, model) },
      { role: "user", content: goalMessage(request) },
    ];
    const attempts = settings.attempts;
    let problems: FieldError[] = [];
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const answer = await this.ask(model, messages, principal, options, settings.temperature);
      const read = readPlanAnswer(answer.text, request.goal, offered);
      if (read.ok) {
        const plan = chooseAgents(read.plan, catalog.agents, this.deps.load);
        log.info({ attempts: attempt, steps: plan.steps.length, serviceId: answer.serviceId, model: answer.model }, "plan made");
        return { planId, plan, model: answer.model, attempts: attempt };
      }
      problems = read.problems;
      // Only the count: the problems quote the model's answer, which may quote the caller's goal.
      log.warn({ attempt, problems: problems.length, serviceId: answer.serviceId }, "the model's answer was not a valid plan");
      messages.push({ role: "assistant", content: answer.text }, { role: "user", content: correctionMessage(problems) });
    }
    throw new ApiError("plan_invalid", `the model gave no valid plan in ${attempts} attempt(s); last problems: ${summary(problems)}`, problems);
  }

  /** The model asked: the request's, else the configured one, else the first chat model the caller may use. */
  private async chooseModel(request: PlanRequest, principal: Principal, settings: Config["agents"]["planner"]): Promise<string> {
    const wanted = request.model ?? settings.model;
    if (wanted !== undefined) return wanted;
    const ids = (await this.deps.gateway.models(principal, "llm_chat")).map((entry) => entry.id);
    // Plain names route to any service serving them (failover); `<serviceId>/<model>` pins one service.
    const chosen = ids.find((id) => !id.includes("/") && !NOT_CHAT.test(id)) ?? ids.find((id) => !NOT_CHAT.test(id));
    if (chosen === undefined) {
      throw new ApiError(
        "planner_unavailable",
        "no language model is available to plan with: no service offering llm_chat that you may use lists a chat model (register one, or name the model with `model` or agents.planner.model)",
      );
    }
    return chosen;
  }

  private async ask(model: string, messages: readonly ChatMessage[], principal: Principal, options: PlanCallOptions, temperature: number): Promise<{ text: string; model: string; serviceId: string }> {
    try {
      const result = await this.deps.gateway.route(
        "chat",
        { model, messages: [...messages], temperature },
        { principal, ...(options.signal ? { signal: options.signal } : {}), ...(options.requestId !== undefined ? { requestId: options.requestId } : {}) },
      );
      const text = result.data.choices[0]?.message.content ?? "";
      return { text, model: result.model ?? model, serviceId: result.serviceId };
    } catch (error) {
      if (error instanceof ApiError && NO_MODEL_CODES.has(error.code)) {
        throw new ApiError("planner_unavailable", `no language model is available to plan with: ${error.message}`);
      }
      throw error;
    }
  }
}
