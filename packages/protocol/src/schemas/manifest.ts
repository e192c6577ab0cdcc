/**
 * @module manifest
 * Declarative service manifests (seed 001): a YAML `services:` list, in the seed's own vocabulary
 * (`endpoint`, `token_env`, `trust_level`, `type: llm`, capability `chat`) or in ours. Converted here to
 * registrations so that the CLI, SDK and server agree on what a manifest means.
 */
import { z } from "zod";
import { ServiceTypeSchema, type ServiceRegistrationInput, SERVICE_TYPES } from "./service.js";

/** The seed's capability shorthands and what they mean in our vocabulary. */
export const CAPABILITY_ALIASES: Record<string, string> = {
  chat: "llm_chat",
  completion: "llm_completion",
  completions: "llm_completion",
  embedding: "embeddings",
  image: "image_generation",
  images: "image_generation",
  vision: "image_analysis",
  transcription: "audio_transcription",
  speech: "audio_generation",
  tts: "audio_generation",
  vectors: "vector_storage",
  workflows: "workflow_orchestration",
};

const ManifestAuthSchema = z.looseObject({
  type: z.string().optional(),
  /** Name of an environment variable that holds the credential; kept as the reference `env:NAME`. */
  token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  credentialRef: z.string().optional(),
  header: z.string().optional(),
});

/** One manifest entry. Unknown fields are refused so that typos do not vanish silently. */
export const ManifestServiceSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  endpoint: z.string().optional(),
  url: z.string().optional(),
  type: z.string().optional(),
  auth: ManifestAuthSchema.optional(),
  capabilities: z.array(z.string()).optional(),
  trust_level: z.string().optional(),
  trustLevel: z.string().optional(),
  ui: z.record(z.string(), z.unknown()).optional(),
});

export const ManifestSchema = z.strictObject({
  services: z.array(ManifestServiceSchema).max(10_000),
});
export type Manifest = z.infer<typeof ManifestSchema>;

const KNOWN_TYPES = new Set<string>(SERVICE_TYPES);

/**
 * Converts a manifest entry into a registration. The result is still validated by
 * `ServiceRegistrationSchema` (by the server), so a wrong value is reported against the field it came from.
 */
export function manifestEntryToRegistration(entry: z.infer<typeof ManifestServiceSchema>): ServiceRegistrationInput {
  const { endpoint, url, type, auth, capabilities, trust_level: trustLevelSeed, trustLevel, ui, ...rest } = entry;
  const registration: Record<string, unknown> = { ...rest, name: entry.name ?? entry.id };
  const metadata: Record<string, unknown> = { ...((rest as { metadata?: Record<string, unknown> }).metadata ?? {}) };
  if (endpoint ?? url) registration.url = endpoint ?? url;
  if (type !== undefined) {
    if (KNOWN_TYPES.has(type)) registration.type = ServiceTypeSchema.parse(type);
    else {
      // The seed's manifest types (llm, vector_store, …) describe the kind of service, not its role.
      registration.type = "service";
      metadata.kind = type;
    }
  }
  if (capabilities) registration.capabilities = capabilities.map((capability) => CAPABILITY_ALIASES[capability] ?? capability);
  const trust = trustLevel ?? trustLevelSeed;
  if (trust !== undefined) registration.trustLevel = trust;
  if (ui !== undefined) metadata.ui = ui;
  if (auth) {
    const { token_env: tokenEnv, ...authRest } = auth;
    registration.auth = tokenEnv ? { ...authRest, credentialRef: `env:${tokenEnv}` } : authRest;
  }
  if (Object.keys(metadata).length > 0) registration.metadata = metadata;
  return registration as ServiceRegistrationInput;
}
