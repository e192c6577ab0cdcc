/**
 * @module manifest
 * Declarative service manifests (seed 001): a YAML `services:` list, in the seed's own vocabulary
 * (`endpoint`, `token_env`, `trust_level`, `type: llm`, capability `chat`) or in ours. Converted here to
 * registrations so that the CLI, SDK and server agree on what a manifest means.
 */
import { z } from "zod";
import { ServiceRegistrationSchema, type ServiceRegistration, type ServiceRegistrationInput, type ServiceType, SERVICE_TYPES } from "./service.js";
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

/** The most services one manifest may list (issue 19: `kai services apply` of 100,000 services, with room to grow). */
export const MANIFEST_MAX_SERVICES = 200_000;

export const ManifestSchema = z.strictObject({
  services: z.array(ManifestServiceSchema).max(MANIFEST_MAX_SERVICES),
});
export type Manifest = z.infer<typeof ManifestSchema>;

const KNOWN_TYPES = new Set<string>(SERVICE_TYPES);

/** Manifest fields converted into a registration's own; every other field passes through as it is. */
const CONVERTED_FIELDS = new Set(["endpoint", "url", "type", "auth", "capabilities", "trust_level", "trustLevel", "ui"]);

/**
 * Converts a manifest entry into a registration. The result is still validated by
 * `ServiceRegistrationSchema` (by the server), so a wrong value is reported against the field it came from.
 * The fields that pass through are copied in one loop: a rest destructuring, two spreads and a schema call for the
 * type took ~7 µs an entry (0.7 s of a 100,000-entry manifest), the loop a tenth of that.
 */
export function manifestEntryToRegistration(entry: z.infer<typeof ManifestServiceSchema>): ServiceRegistrationInput {
  const registration: Record<string, unknown> = {};
  const fields = entry as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (!CONVERTED_FIELDS.has(key)) registration[key] = fields[key];
  registration.name = entry.name ?? entry.id;
  const given = registration.metadata as Record<string, unknown> | undefined;
  const metadata: Record<string, unknown> = given === undefined ? {} : { ...given };
  const { endpoint, url, type, auth, capabilities, trust_level: trustLevelSeed, trustLevel, ui } = entry;
  if (endpoint ?? url) registration.url = endpoint ?? url;
  if (type !== undefined) {
    if (KNOWN_TYPES.has(type)) registration.type = type as ServiceType;
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

export type ManifestPlan =
  | { ok: true; services: PlannedRegistration[] }
  /** `notAManifest`: the document is not a `services:` list at all (rather than a list with bad entries). */
  | { ok: false; problems: FieldError[]; notAManifest: boolean };

export interface PlanManifestOptions {
  /** May change an entry's registration first (the CLI sends a `token_env` variable's value). */
  credential?(registration: ServiceRegistrationInput, entry: z.infer<typeof ManifestServiceSchema>): ServiceRegistrationInput;
  /**
   * The schemas to check with, when a caller has faster equivalents of `ManifestServiceSchema` and
   * `ServiceRegistrationSchema` (the CLI's are compiled with `z.compile`: a 100,000-entry manifest is checked in
   * about half the time; the web app keeps these, as `new Function` may be refused in a browser extension).
   */
  schemas?: { entry: typeof ManifestServiceSchema; registration: typeof ServiceRegistrationSchema };
}

/**
 * The document's outline: a `services:` list and nothing else. Its entries are checked one by one in the plan's
 * loop (`ManifestServiceSchema`), each check's copy dropped as soon as the entry is converted: checking the whole
 * `ManifestSchema` at once kept a copy of every entry alive until the end, garbage the collector had to move.
 */
const ManifestOutlineSchema = z.strictObject({ services: z.array(z.unknown()).max(MANIFEST_MAX_SERVICES) });

/** A problem of entry `index`, by its path in the file. */
const entryProblems = (index: number, error: z.ZodError): FieldError[] =>
  fieldErrorsFromZod(error).map((problem) => ({ path: problem.path === "(root)" ? `services.${index}` : `services.${index}.${problem.path}`, message: problem.message }));

/**
 * Validates a whole manifest document and turns every entry into a registration, tagged
 * `metadata.appliedFrom = <appliedFrom>` so that a later `apply --prune` knows which services came from that file.
 * Every problem of every entry is reported (duplicate ids, fields the registration schema refuses, by their path
 * in the file), so a caller can refuse the whole file before anything is sent: a typo in entry 7 must not leave six
 * applied. A document that is not a manifest at all (no `services:` list, or entries that are not manifest
 * entries) is told apart (`notAManifest`). The CLI and the web app both plan with this, so a file means the same in
 * either.
 */
export function planManifest(document: unknown, appliedFrom: string, options: PlanManifestOptions = {}): ManifestPlan {
  const schemas = options.schemas ?? { entry: ManifestServiceSchema, registration: ServiceRegistrationSchema };
  const outline = ManifestOutlineSchema.safeParse(document);
  if (!outline.success) return { ok: false, problems: fieldErrorsFromZod(outline.error), notAManifest: true };
  const shapeProblems: FieldError[] = [];
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  const services: PlannedRegistration[] = [];
  outline.data.services.forEach((raw, index) => {
    const checked = schemas.entry.safeParse(raw);
    if (!checked.success) {
      shapeProblems.push(...entryProblems(index, checked.error));
      return;
    }
    const entry = checked.data;
    if (seen.has(entry.id)) problems.push({ path: `services.${index}.id`, message: `duplicate id "${entry.id}"` });
    seen.add(entry.id);
    const converted = manifestEntryToRegistration(entry);
    // The registration is this loop's own (made just above, or by `credential` from it): tagged in place, its
    // metadata copied (it may be the document's own object).
    const input = options.credential ? options.credential(converted, entry) : converted;
    input.metadata = { ...(input.metadata ?? {}), appliedFrom };
    const parsed = schemas.registration.safeParse(input);
    if (!parsed.success) {
      problems.push(...entryProblems(index, parsed.error));
      return;
    }
    services.push({ id: entry.id, input, normalised: parsed.data });
  });
  if (shapeProblems.length > 0) return { ok: false, problems: shapeProblems, notAManifest: true };
  return problems.length > 0 ? { ok: false, problems, notAManifest: false } : { ok: true, services };
}
