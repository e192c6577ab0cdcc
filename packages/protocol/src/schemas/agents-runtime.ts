/**
 * @module agents-runtime
 * Agents the node runs itself (issue 16, seed 002's `kai agent start|stop`): each is a command the node starts as a
 * child process (no shell), supervises (restarts on failure with backoff, up to `maxRestarts`) and stops on
 * shutdown. Configured under `agents.run` or added at runtime by an admin (`POST /api/agents/run`). The command's
 * environment names vault secrets, never their values (as MCP command servers do), so no secret is ever stored in
 * the config or shown by the API. What the API shows of each is its run state (`agent-run-state.ts`: apart, so that
 * `agents.ts` can show it in an agent's status without an import cycle).
 */
import { z } from "zod";
import { AgentIdSchema } from "./agents.js";
import { McpCommandSchema } from "./agents-mcp.js";
import { IdentifierSchema } from "./common.js";
import { AgentRunStateSchema } from "./agent-run-state.js";

export * from "./agent-run-state.js";

/** One agent the node runs: the command (program, args, env from vault secret names) and how it is supervised. */
export const RunAgentSpecSchema = McpCommandSchema.extend({
  /** The agent's id (`kClass:name`): the child is told it and is expected to register under it. */
  id: AgentIdSchema,
  /** The directory the command runs in (absolute, or relative to the node's working directory). */
  cwd: z.string().min(1).max(1024).optional(),
  /** Started when the node starts (default true); otherwise only by `kai agent start`. */
  autostart: z.boolean().default(true),
  /** `on-failure`: started again after a non-zero exit or a signal not sent by the node; `never`: left crashed. */
  restart: z.enum(["on-failure", "never"]).default("on-failure"),
  /** Restarts in a row at most before the node gives up (state `crashed`); a run of a minute or more resets the count. */
  maxRestarts: z.int().min(0).max(1000).default(5),
  /** The first restart's delay, ms; each one after doubles it, up to a minute. */
  backoffMs: z.int().min(10).max(60_000).default(1000),
  /** After SIGTERM, how long the process may take to exit before SIGKILL, ms. */
  stopGraceMs: z.int().min(100).max(120_000).default(10_000),
  /** A user who may start and stop it besides admins (the `owner` of their tokens). */
  owner: IdentifierSchema.optional(),
});
export type RunAgentSpecInput = z.input<typeof RunAgentSpecSchema>;
export type RunAgentSpec = z.output<typeof RunAgentSpecSchema>;

/** `GET /api/agents/run`: every agent the node runs (the caller's, or all for an admin). */
export const AgentRunListResponseSchema = z.object({ agents: z.array(AgentRunStateSchema) });
export type AgentRunListResponse = z.infer<typeof AgentRunListResponseSchema>;
