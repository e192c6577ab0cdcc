/**
 * @module agents
 * The agent mesh's agents (issue 16): the manifest an agent registers with (signed by its own Ed25519 key, so
 * the node knows the record speaks for the key behind its DID), how that becomes a registry record of type
 * `agent`, and what `GET /api/agent/status` answers. Agent ids follow the seeds' `kClass:name` form
 * (`kPlanner:main`, `kExecutor:webscraper`); they are registry ids as well, so they fit IdentifierSchema.
 */
import { z } from "zod";
import { DidSchema } from "../klp/did.js";
import { TimestampSchema } from "./common.js";
import { AgentRunStateSchema } from "./agent-run-state.js";
import { CapabilitySchema, ServiceRecordSchema, ServiceStatusSchema, TagSchema, VisibilitySchema } from "./service.js";

/** `kClass:name`: a class starting with `k` and an upper-case letter, a lower-case name. */
export const AgentIdSchema = z
  .string()
  .max(96)
  .regex(/^k[A-Z][A-Za-z0-9]{0,30}:[a-z0-9][a-z0-9._-]{0,62}$/, "must be kClass:name, e.g. kPlanner:main or kExecutor:webscraper");
export type AgentId = z.infer<typeof AgentIdSchema>;

/** How the node reaches an agent: KLP envelopes, the A2A protocol, plain HTTP (POST the step), an MCP tool server, or a plugin the node runs (over its ServiceBus). */
export const AGENT_TRANSPORTS = ["klp", "a2a", "http", "mcp", "plugin"] as const;
export const AgentTransportSchema = z.enum(AGENT_TRANSPORTS);
export type AgentTransport = z.infer<typeof AgentTransportSchema>;

/** A JSON Schema document (an object); the node checks its shape only as far as "an object", the agent owns its meaning. */
export const JsonSchemaObjectSchema = z.record(z.string(), z.unknown());

/** One thing an agent can do: the capability a plan step asks for, with the shape of its input and output. */
export const AgentSkillSchema = z.strictObject({
  /** Unique within the agent. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must use letters, digits and . _ - (at most 64)"),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(""),
  /** The capability this skill provides; plans and discovery match on it. */
  capability: CapabilitySchema,
  inputSchema: JsonSchemaObjectSchema.optional(),
  outputSchema: JsonSchemaObjectSchema.optional(),
  tags: z.array(TagSchema).max(32).default([]),
});
export type AgentSkill = z.output<typeof AgentSkillSchema>;

export const AgentEndpointSchema = z.strictObject({
  transport: AgentTransportSchema,
  /** http(s) URL of the agent's endpoint (KLP: its KLP base URL; A2A: its JSON-RPC URL; HTTP: the URL steps are POSTed to). */
  url: z.url({ protocol: /^https?$/ }).max(2048),
});

export const AgentLimitsSchema = z.strictObject({
  /** Steps the agent runs at once; the scheduler never sends more. */
  maxConcurrentTasks: z.int().min(1).max(1000).default(4),
  /** A step that takes longer is failed and may be retried elsewhere. */
  stepTimeoutMs: z.int().min(100).max(86_400_000).default(60_000),
});

/** What an agent says about itself. `did` is the key that signs the manifest and the agent's KLP messages. */
export const AgentManifestSchema = z.strictObject({
  id: AgentIdSchema,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(""),
  version: z.string().max(64).optional(),
  did: DidSchema,
  skills: z.array(AgentSkillSchema).min(1).max(64),
  endpoint: AgentEndpointSchema,
  limits: AgentLimitsSchema.default({ maxConcurrentTasks: 4, stepTimeoutMs: 60_000 }),
  tags: z.array(TagSchema).max(32).default([]),
  /** Lease in seconds: without a heartbeat for this long the agent goes offline (as any service's ttl). */
  ttl: z.int().min(5).max(86_400).optional(),
  /** Who may see the agent's record, as for any registry record (default `private`: its owner and admins). */
  visibility: VisibilitySchema.optional(),
  /** When the agent signed it; the node refuses manifests signed too long ago (a replayed old manifest). */
  issuedAt: TimestampSchema,
});
export type AgentManifestInput = z.input<typeof AgentManifestSchema>;
export type AgentManifest = z.output<typeof AgentManifestSchema>;

/** `POST /api/agents`: the manifest with `signature`, Ed25519 by the key in `did` over its JCS text without `signature`. */
export const SignedAgentManifestSchema = AgentManifestSchema.extend({ signature: z.string().min(1).max(200) });
export type SignedAgentManifestInput = z.input<typeof SignedAgentManifestSchema>;
export type SignedAgentManifest = z.output<typeof SignedAgentManifestSchema>;

/** One agent in `GET /api/agent/status`. */
export const AgentStatusSchema = z.object({
  id: z.string(),
  name: z.string(),
  did: z.string().optional(),
  transport: AgentTransportSchema,
  /** Where the record came from: a signed manifest, an A2A agent card read by URL, an MCP server, or the node's own agents. */
  source: z.enum(["manifest", "a2a", "mcp", "builtin", "plugin"]),
  status: ServiceStatusSchema,
  capabilities: z.array(z.string()),
  /** Steps running on it now, and how many it accepts at once. */
  load: z.object({ running: z.int(), limit: z.int() }),
  /** Tasks it is working on now. */
  currentTasks: z.array(z.string()),
  heartbeat: TimestampSchema.nullable(),
  /** When the node runs this agent itself (a run-agent): its process's state, as the caller may see it. */
  run: AgentRunStateSchema.optional(),
});
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

export const AgentStatusResponseSchema = z.object({ agents: z.array(AgentStatusSchema) });
export type AgentStatusResponse = z.infer<typeof AgentStatusResponseSchema>;

/** Where in a registry record's metadata the agent part lives (one key, so a plain service record never looks like an agent). */
export const AGENT_METADATA_KEY = "agent";

/** The agent part of a registry record of type `agent`, under `metadata.agent`. */
export const AgentRecordMetadataSchema = z.object({
  did: z.string().optional(),
  transport: AgentTransportSchema,
  source: z.enum(["manifest", "a2a", "mcp", "builtin", "plugin"]),
  skills: z.array(AgentSkillSchema),
  limits: AgentLimitsSchema,
  /** The registered manifest's `issuedAt`: a manifest signed before it is an old one replayed, and refused. */
  issuedAt: TimestampSchema.optional(),
});
export type AgentRecordMetadata = z.output<typeof AgentRecordMetadataSchema>;

/** `GET /api/agents`: registry records of type `agent` the caller may see, in registration order. */
export const ListAgentsQuerySchema = z.strictObject({
  capability: CapabilitySchema.optional().describe("Only agents offering this capability"),
  status: ServiceStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2048).optional(),
});
export type ListAgentsQueryInput = z.input<typeof ListAgentsQuerySchema>;
export type ListAgentsQuery = z.output<typeof ListAgentsQuerySchema>;

export const ListAgentsResponseSchema = z.object({
  agents: z.array(ServiceRecordSchema),
  nextCursor: z.string().nullable(),
});
export type ListAgentsResponse = z.infer<typeof ListAgentsResponseSchema>;

/** `GET|DELETE /api/agents/{id}`. */
export const AgentIdParamsSchema = z.strictObject({ id: AgentIdSchema });
