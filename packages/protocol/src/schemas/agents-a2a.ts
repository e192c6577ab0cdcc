/**
 * @module agents-a2a
 * External A2A agents (issue 16): `POST /api/agents/a2a` adds an agent by the URL of its A2A agent card. The node
 * reads the card, registers a registry record of type `agent` (transport `a2a`, source `a2a`) whose capabilities
 * come from the card's skills, and keeps it fresh by reading the card again. What the node remembers about the
 * card (where it is read from, how the agent is reached) lives under `metadata.a2a` of that record.
 */
import { z } from "zod";
import { AgentIdSchema } from "./agents.js";
import { TagSchema, VisibilitySchema } from "./service.js";

export const AddA2aAgentRequestSchema = z.strictObject({
  /**
   * The agent's base URL (its card is read from `/.well-known/agent-card.json` under it) or the card's own URL
   * (a URL whose path ends in `.json`).
   */
  url: z.url({ protocol: /^https?$/ }).max(2048),
  /** The agent id (`kClass:name`); default `kA2a:<the card's name, lower-cased>`. */
  id: AgentIdSchema.optional(),
  /** Who may see the record, as for any registry record (default `private`). */
  visibility: VisibilitySchema.optional(),
  tags: z.array(TagSchema).max(32).optional(),
});
export type AddA2aAgentRequest = z.input<typeof AddA2aAgentRequestSchema>;

/** Where in an A2A agent record's metadata the card's part lives. */
export const A2A_METADATA_KEY = "a2a";

export const A2aRecordMetadataSchema = z.object({
  /** The URL the card is (re-)read from. */
  cardUrl: z.string(),
  /** The card's JSON-RPC interface: the record's url. */
  protocolBinding: z.string(),
  protocolVersion: z.string(),
  /** The card says the agent streams (SendStreamingMessage); the node then follows the task's events as they come. */
  streaming: z.boolean(),
  /** The card's own version string, for people. */
  version: z.string().optional(),
  /** The card's A2A signature (AgentCardSignature) as last read: verified by the key its `kid` names, or unverified
   * (none, or by a key the node cannot resolve). An invalid signature is refused, never recorded. */
  signature: z.enum(["verified", "unverified"]).optional(),
  /** The key id (a DID) of the signature that verified. */
  signedBy: z.string().max(200).optional(),
});
export type A2aRecordMetadata = z.infer<typeof A2aRecordMetadataSchema>;
