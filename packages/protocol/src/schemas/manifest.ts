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
  /**
   * `notAManifest`: the document's outline is not a manifest (no `services:` list, other keys beside it, more entries
   * than a manifest may hold). Problems of the list's entries, however many and whatever they are (an entry without
   * an id, one that is not even an object), leave it a manifest with bad entries: every one is listed.
   */
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

type ManifestEntry = z.infer<typeof ManifestServiceSchema>;

/**
 * Where a registration's field came from in the manifest entry, as the entry spells it (dotted, without
 * `services.<n>`): the conversion renames some (`endpoint` → `url`, `trust_level` → `trustLevel`, `token_env` →
 * `auth.credentialRef`, or `auth.token` once the CLI read the variable, `ui` → `metadata.ui`, an unknown `type` →
 * `metadata.kind`, a missing `name` is the `id`), and an error naming `url` in a file that says `endpoint` sends the
 * reader looking for a field that is not there. Every other path is the entry's own.
 */
export function manifestFieldPath(entry: Partial<ManifestEntry>, registrationPath: string): string {
  const segments = registrationPath.split(".");
  const renamed = (to: string, replaced: number) => [to, ...segments.slice(replaced)].join(".");
  const [head, next] = segments;
  if (head === "url" && entry.endpoint != null) return renamed("endpoint", 1);
  if (head === "trustLevel" && entry.trustLevel === undefined && entry.trust_level !== undefined) return renamed("trust_level", 1);
  if (head === "name" && entry.name === undefined && segments.length === 1) return "id";
  if (head === "auth" && (next === "credentialRef" || next === "token") && entry.auth?.token_env) return renamed("auth.token_env", 2);
  if (head === "metadata" && next === "ui" && entry.ui !== undefined) return renamed("ui", 2);
  if (head === "metadata" && next === "kind" && entry.type !== undefined && !KNOWN_TYPES.has(entry.type)) return renamed("type", 2);
  return registrationPath;
}

/** Problem `problem` of entry `index` by its path in the file, with the entry's id when it has one. */
function entryProblem(index: number, problem: FieldError, id: string | undefined): FieldError {
  const path = problem.path === "(root)" ? `services.${index}` : `services.${index}.${problem.path}`;
  return id === undefined ? { path, message: problem.message } : { path, message: problem.message, entry: id };
}

/** The first segment of a dotted path: the entry's field a problem is about. */
const fieldOf = (path: string) => path.split(".", 1)[0]!;

/**
 * What is left of an entry `ManifestServiceSchema` refused once the fields it refused are dropped, so that the rest
 * can still be checked as a registration (the file's other mistakes listed now, not one round of fixes later), and
 * the fields dropped. `undefined` when the entry is not an object at all: nothing of it can be checked.
 */
function withoutRefusedFields(raw: unknown, problems: readonly FieldError[]): { entry: ManifestEntry; refused: Set<string> } | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const refused = new Set(problems.map((problem) => fieldOf(problem.path)));
  if (refused.has("(root)")) return undefined;
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) if (!refused.has(key)) rest[key] = value;
  // Every other field passed the entry's schema (zod checks them all); a refused `id` is missing here, and the
  // conversion's `name` derived from it is then missing too: that problem is the `id`'s, already listed.
  return { entry: rest as ManifestEntry, refused };
}

/**
 * Validates a whole manifest document and turns every entry into a registration, tagged
 * `metadata.appliedFrom = <appliedFrom>` so that a later `apply --prune` knows which services came from that file.
 * Every problem of every entry is reported (duplicate ids, fields the entry's or the registration's schema refuses),
 * each by its path in the file in the manifest's own field names (`manifestFieldPath`) and with the entry's id, so a
 * caller can refuse the whole file before anything is sent: a typo in entry 7 must not leave six applied. An entry
 * the entry's schema refuses (no id, an `auth.token_env` that is no variable's name) is one more bad entry, its
 * other fields still checked; only a document whose outline is no manifest is told apart (`notAManifest`). The CLI
 * and the web app both plan with this, so a file means the same in either.
 */
export function planManifest(document: unknown, appliedFrom: string, options: PlanManifestOptions = {}): ManifestPlan {
  const schemas = options.schemas ?? { entry: ManifestServiceSchema, registration: ServiceRegistrationSchema };
  const outline = ManifestOutlineSchema.safeParse(document);
  if (!outline.success) return { ok: false, problems: fieldErrorsFromZod(outline.error), notAManifest: true };
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  const services: PlannedRegistration[] = [];
  outline.data.services.forEach((raw, index) => {
    const checked = schemas.entry.safeParse(raw);
    let entry: ManifestEntry;
    /** The fields the entry's schema refused (dropped from `entry`); `undefined` when it passed. */
    let refused: Set<string> | undefined;
    if (checked.success) entry = checked.data;
    else {
      const shape = fieldErrorsFromZod(checked.error);
      const rawId = (raw as { id?: unknown } | null)?.id;
      for (const problem of shape) problems.push(entryProblem(index, problem, typeof rawId === "string" ? rawId : undefined));
      const rest = withoutRefusedFields(raw, shape);
      if (rest === undefined) return;
      ({ entry, refused } = rest);
    }
    const id = refused?.has("id") ? undefined : entry.id;
    if (id !== undefined) {
      if (seen.has(id)) problems.push({ path: `services.${index}.id`, message: `duplicate id "${id}"`, entry: id });
      seen.add(id);
    }
    const converted = manifestEntryToRegistration(entry);
    // The registration is this loop's own (made just above, or by `credential` from it): tagged in place, its
    // metadata copied (it may be the document's own object). A refused entry is never sent: no credential read for it.
    const input = options.credential && !refused ? options.credential(converted, entry) : converted;
    input.metadata = { ...(input.metadata ?? {}), appliedFrom };
    const parsed = schemas.registration.safeParse(input);
    if (!parsed.success) {
      const refusedHere = fieldErrorsFromZod(parsed.error);
      for (const problem of refusedHere) {
        const path = problem.path === "(root)" ? problem.path : manifestFieldPath(entry, problem.path);
        // A field the entry's schema refused is already listed (and was left out of this registration); so is an id
        // the registration refused, whose use as the name (too long for one, say) adds nothing.
        if (refused?.has(fieldOf(path))) continue;
        if (problem.path === "name" && path === "id" && refusedHere.some((other) => other.path === "id")) continue;
        problems.push(entryProblem(index, { path, message: problem.message }, id));
      }
      return;
    }
    if (!refused) services.push({ id: entry.id, input, normalised: parsed.data });
  });
  return problems.length > 0 ? { ok: false, problems, notAManifest: false } : { ok: true, services };
}
