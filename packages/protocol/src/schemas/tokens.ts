/**
 * @module tokens
 * Access tokens: the scopes they carry and the token management API.
 */
import { z } from "zod";
import { DurationSchema, IdentifierSchema, TimestampSchema } from "./common.js";
import { SecretPatternSchema } from "./vault.js";

/** Every scope. `admin` implies all of them; `vault:admin` implies `vault:read` and `vault:write`. */
export const SCOPES = [
  "services:read", "services:write", "services:heartbeat",
  "vault:read", "vault:write", "vault:admin",
  // Calling services through the gateway (/v1/*, /api/route/*); callers still see only services their token may see.
  "gateway:invoke",
  // Reading /metrics (Prometheus scrapers hold only this).
  "metrics:read",
  // Managing federation peers (/api/peers): whom this node imports records from.
  "federation:admin",
  // The agent mesh (/api/agent*, /api/agents, /api/planner, /api/events, /ws/events): reading agents, tasks and events;
  // registering agents and adding A2A agents and MCP servers; submitting, answering and cancelling tasks, planning.
  "agents:read", "agents:write", "tasks:run",
  // Data services (issue 17): prompts (/api/prompts), artifacts (/api/artifacts) and semantic memory (/api/memory).
  // `:read` lists, fetches, renders, downloads and searches; `:write` saves, uploads, shares and deletes.
  "prompts:read", "prompts:write", "artifacts:read", "artifacts:write", "memory:read", "memory:write",
  // The node's configuration (/api/config): reading it (secrets redacted), explaining its layers, changing the runtime layer.
  "config:admin",
  // Plugins (issue 18, /api/plugins): listing them with their manifests, trust and problems, rescanning their folders.
  "plugins:admin",
  // Backups (issue 19, /api/backups): taking, listing and verifying backups of everything the node holds.
  "backup:admin",
  "admin",
] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

export const CreateTokenRequestSchema = z.strictObject({
  scopes: z.array(ScopeSchema).min(1).max(SCOPES.length),
  /** Whom the token acts for; owns the services it registers. Defaults to the caller's owner. */
  owner: IdentifierSchema.optional(),
  /** Lifetime: `90s`, `30m`, `24h`, `7d`, `2w` or seconds. Default 30 days; at most one year. */
  ttl: DurationSchema.optional(),
  /** A note to recognise the token by in listings. */
  name: z.string().max(200).optional(),
  /**
   * Vault secrets this token may use, as name patterns (`openai/*`, `services/**`). Absent: every secret its
   * vault scopes allow. Applies to vault:read and vault:write alike.
   */
  secrets: z.array(SecretPatternSchema).max(64).optional(),
});
export type CreateTokenRequestInput = z.input<typeof CreateTokenRequestSchema>;
export type CreateTokenRequest = z.output<typeof CreateTokenRequestSchema>;

export const TokenInfoSchema = z.object({
  id: z.string(),
  owner: z.string(),
  scopes: z.array(ScopeSchema),
  name: z.string().optional(),
  secrets: z.array(z.string()).optional(),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema,
  revokedAt: TimestampSchema.nullable(),
});
export type TokenInfo = z.infer<typeof TokenInfoSchema>;

/** The token itself is shown once, here, and never again. */
export const CreateTokenResponseSchema = TokenInfoSchema.extend({ token: z.string() });
export type CreateTokenResponse = z.infer<typeof CreateTokenResponseSchema>;

export const ListTokensResponseSchema = z.object({ tokens: z.array(TokenInfoSchema) });
export type ListTokensResponse = z.infer<typeof ListTokensResponseSchema>;
