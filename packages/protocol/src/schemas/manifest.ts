/**
 * @module manifest
 * Declarative service manifests (seed 001): a YAML `services:` list, in the seed's own vocabulary
 * (`endpoint`, `token_env`, `trust_level`, `type: llm`, capability `chat`) or in ours. Converted here to
 * registrations so that the CLI, SDK and server agree on what a manifest means.
 */
import { z } from "zod";
import { ServiceRegistrationSchema, ServiceTypeSchema, type ServiceRegistration, type ServiceRegistrationInput, SERVICE_TYPES } from "./service.js";
import { fieldErrorsFromZod, type FieldError } from "./errors.js";

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

/** One manifest entry ready to send: the registration, and the same with the schema's defaults filled in. */
export interface PlannedRegistration {
  id: string;
  input: ServiceRegistrationInput;
  normalised: ServiceRegistration;
}

export type ManifestPlan = { ok: true; services: PlannedRegistration[] } | { ok: false; problems: FieldError[] };

/**
 * Validates a whole manifest document and turns every entry into a registration, tagged
 * `metadata.appliedFrom = <appliedFrom>` so that a later `apply --prune` knows which services came from that file.
 * Every problem of every entry is reported (duplicate ids, fields the registration schema refuses, by their path
 * in the file), so a caller can refuse the whole file before anything is sent: a typo in entry 7 must not leave six
 * applied. `credential` may change an entry's registration first (the CLI sends a `token_env` variable's value).
 * The CLI and the web app both plan with this, so a file means the same in either.
 */
export function planManifest(
  document: unknown,
  appliedFrom: string,
  credential: (registration: ServiceRegistrationInput, entry: z.infer<typeof ManifestServiceSchema>) => ServiceRegistrationInput = (registration) => registration,
): ManifestPlan {
  const manifest = ManifestSchema.safeParse(document);
  if (!manifest.success) return { ok: false, problems: fieldErrorsFromZod(manifest.error) };
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  const services: PlannedRegistration[] = [];
  manifest.data.services.forEach((entry, index) => {
    if (seen.has(entry.id)) problems.push({ path: `services.${index}.id`, message: `duplicate id "${entry.id}"` });
    seen.add(entry.id);
    const registration = credential(manifestEntryToRegistration(entry), entry);
    const input: ServiceRegistrationInput = { ...registration, metadata: { ...(registration.metadata ?? {}), appliedFrom } };
    const parsed = ServiceRegistrationSchema.safeParse(input);
    if (!parsed.success) {
      for (const issue of fieldErrorsFromZod(parsed.error)) problems.push({ path: `services.${index}.${issue.path}`, message: issue.message });
      return;
    }
    services.push({ id: entry.id, input, normalised: parsed.data });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, services };
}
