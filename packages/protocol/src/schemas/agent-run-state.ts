/**
 * @module agent-run-state
 * The run state of an agent the node runs itself (agents-runtime.ts, docs/agents/runtime.md): a module of its own,
 * importing nothing of the agents schemas, so that both `agents-runtime.ts` (the run-agent API) and `agents.ts`
 * (`GET /api/agent/status`, each agent's `run`) use it without an import cycle.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/**
 * `starting`: being prepared or spawned; `running`: the process is alive; `backoff`: it failed and waits to be
 * started again; `crashed`: it failed and the node gave up (or `restart: never`); `stopped`: stopped on purpose,
 * exited cleanly, or never started.
 */
export const AgentRunStatusSchema = z.enum(["starting", "running", "backoff", "crashed", "stopped"]);
export type AgentRunStatus = z.infer<typeof AgentRunStatusSchema>;

/** How the process last ended. */
export const AgentExitSchema = z.object({
  code: z.int().nullable(),
  signal: z.string().nullable(),
  at: TimestampSchema,
});

/** One run-agent as the node supervises it now. */
export const AgentRunStateSchema = z.object({
  /** The agent's id (`kClass:name`; checked where a spec is accepted). */
  id: z.string(),
  state: AgentRunStatusSchema,
  /** The process id while it runs. */
  pid: z.int().nullable(),
  /** Restarts in a row after failures (reset by a long run or a start by hand). */
  restarts: z.int(),
  lastExit: AgentExitSchema.nullable(),
  /** Why the last start failed before a process existed (e.g. the vault is locked), in a few words. */
  error: z.string().nullable(),
  /** When the state last changed. */
  since: TimestampSchema,
  autostart: z.boolean(),
  /** Where it is defined: the node's config, or added over the API since the node started. */
  source: z.enum(["config", "api"]),
  /** When it waits in `backoff`: when it starts again. */
  nextStartAt: TimestampSchema.nullable(),
  /**
   * On a node of many instances: the instance (cluster instanceId) whose view this is, the leader that runs the
   * run-agents; null while no instance runs them (no leader yet). Absent on a node of one instance.
   */
  instance: z.string().nullable().optional(),
});
export type AgentRunState = z.infer<typeof AgentRunStateSchema>;

