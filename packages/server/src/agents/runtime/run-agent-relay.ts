/**
 * @module agents/runtime/run-agent-relay
 * Run-agents on a node of many instances (docs/agents/runtime.md, "Many instances"): only the leader runs them, so
 * a start or stop asked of any instance travels as a cluster signal (`run_agent`) that every instance receives (each
 * remembers what was asked, so a new leader keeps a stopped agent stopped) and the leader applies; the leader answers
 * with the agent's new state as a signal too, which the asking instance waits for. The leader also reports its
 * run-agents' states in its membership row (`info.runAgents`), which is what the other instances show.
 * Signals carry ids and states only (small JSON, no command, no secret name).
 */
import { randomUUID } from "node:crypto";
import { AgentRunStateSchema, type AgentRunState, type ErrorCode } from "@kai/protocol";
import { z } from "zod";
import type { ClusterMember, ClusterSignals } from "../../cluster/cluster-types.js";
import { ApiError } from "../../errors.js";
import type { Logger } from "../../logging/logger.js";

/** What the run-agents need of the node's cluster (cluster/cluster-types.ts). */
export interface RuntimeCluster {
  readonly mode: "single" | "postgres";
  readonly instanceId: string;
  members(): Promise<Array<Pick<ClusterMember, "instanceId" | "leader" | "info">>>;
  readonly signals: Pick<ClusterSignals, "publish" | "subscribe">;
  report(info: Record<string, unknown>): void;
}

export type RunOp = "start" | "stop";

/** Applies an asked start or stop on the leader; answers the state, or throws an ApiError. */
export type ApplyRun = (op: RunOp, id: string) => Promise<AgentRunState>;

const TOPIC = "run_agent";
/** The membership info key the leader reports its run-agents' states under. */
export const RUN_AGENTS_INFO = "runAgents";

const RequestSchema = z.object({ request: z.string(), op: z.enum(["start", "stop"]), id: z.string() });
const ReplySchema = z.object({ reply: z.string(), state: AgentRunStateSchema.optional(), error: z.object({ code: z.string(), message: z.string() }).optional() });
const ReportedSchema = z.array(AgentRunStateSchema);

interface Pending {
  resolve(state: AgentRunState): void;
  reject(error: Error): void;
}

export class RunAgentRelay {
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly cluster: RuntimeCluster,
    private readonly hooks: {
      /** Every instance: what was asked of an agent (kept, so whoever leads next honours it). */
      asked(op: RunOp, id: string): void;
      /** True while this instance leads and may apply. */
      leading(): boolean;
      apply: ApplyRun;
    },
    private readonly logger: Logger,
  ) {
    this.unsubscribe = cluster.signals.subscribe(TOPIC, (payload) => this.received(payload));
  }

  /** Asks the leader (this instance too, when it leads) to start or stop an agent; resolves with its new state. */
  async ask(op: RunOp, id: string, waitMs: number): Promise<AgentRunState> {
    const request = randomUUID();
    const answered = new Promise<AgentRunState>((resolve, reject) => this.pending.set(request, { resolve, reject }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ApiError("unavailable", `no instance answered the ${op} of ${id}: the node has no leader now; try again`)), waitMs);
    });
    try {
      await this.cluster.signals.publish(TOPIC, { request, op, id });
      return await Promise.race([answered, timeout]);
    } finally {
      clearTimeout(timer);
      this.pending.delete(request);
    }
  }

  /** The leader tells the others its run-agents' states (null: it runs none, e.g. it stopped leading). */
  report(states: AgentRunState[] | null): void {
    this.cluster.report({ [RUN_AGENTS_INFO]: states });
  }

  /** The leader's reported states, with its instance id; null when there is no leader or it reported none. */
  async leaderStates(): Promise<{ instance: string; states: AgentRunState[] } | null> {
    const leader = (await this.cluster.members()).find((member) => member.leader);
    if (!leader) return null;
    const parsed = ReportedSchema.safeParse(leader.info[RUN_AGENTS_INFO]);
    return parsed.success ? { instance: leader.instanceId, states: parsed.data } : null;
  }

  close(): void {
    this.unsubscribe();
    for (const waiter of this.pending.values()) waiter.reject(new ApiError("unavailable", "the node is shutting down"));
    this.pending.clear();
  }

  private received(payload: Record<string, unknown>): void {
    const asked = RequestSchema.safeParse(payload);
    if (asked.success) {
      const { request, op, id } = asked.data;
      this.hooks.asked(op, id);
      if (this.hooks.leading()) void this.answer(request, op, id);
      return;
    }
    const reply = ReplySchema.safeParse(payload);
    if (!reply.success) return;
    const waiter = this.pending.get(reply.data.reply);
    if (!waiter) return;
    if (reply.data.state) waiter.resolve(reply.data.state);
    else waiter.reject(new ApiError((reply.data.error?.code ?? "internal") as ErrorCode, reply.data.error?.message ?? "the leader could not do it"));
  }

  private async answer(request: string, op: RunOp, id: string): Promise<void> {
    let payload: Record<string, unknown>;
    try {
      payload = { reply: request, state: await this.hooks.apply(op, id) };
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError("internal", `the ${op} failed`);
      payload = { reply: request, error: { code: apiError.code, message: apiError.message.slice(0, 500) } };
    }
    await this.cluster.signals.publish(TOPIC, payload).catch((error: unknown) =>
      this.logger.warn({ agent: id, err: error instanceof Error ? error.message : String(error) }, "a run-agent's new state could not be told to the asking instance"),
    );
  }
}
