/**
 * @module apply-manifest
 * `kai services apply`: brings the registry in line with a manifest (seed 001's `services:` list).
 * Each entry is converted with the protocol's `manifestEntryToRegistration`, tagged with
 * `metadata.appliedFrom = <file name>` so that a later `--prune` knows which services came from this
 * file, and registered only when it differs from what the registry holds (so a second apply is a no-op).
 * A `token_env: NAME` whose variable is set is sent as `auth.token`: the server moves it into its vault
 * and keeps only `credentialRef: vault:services/<id>/credential`. Such entries are always re-sent, because
 * whether the vaulted value is still current cannot be seen from the registry.
 *
 * At scale (issue 19): what the registry holds is read in one listing (a GET per entry for short manifests), and
 * the changed entries go through `POST /api/services/bulk` in batches of up to 1000, each all or nothing. A refused
 * batch stops the apply: the batches before it stay applied, it and everything after it are not (the error says so).
 */
import { basename } from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  BULK_REGISTRATION_MAX,
  fieldErrorsFromZod,
  type FieldError,
  ManifestSchema,
  planManifest as planManifestEntries,
  type PlannedRegistration,
  type ServiceRecord,
  type ServiceRegistration,
  type ServiceRegistrationInput,
} from "@kai/protocol";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { CliError, usageError } from "./cli-error.js";
import { EXIT, exitCodeForApiCode } from "./exit-codes.js";

export type ApplyAction = "created" | "updated" | "unchanged" | "pruned";
export interface ApplyResult {
  id: string;
  action: ApplyAction;
}

/** A manifest entry ready to send: `input` goes to the server, `normalised` is compared with the stored record. */
export type PlannedService = PlannedRegistration;

/** Fields a registration sets; a record that agrees on all of them needs no re-registration. */
const COMPARED_FIELDS = [
  "name", "description", "type", "provider", "capabilities", "tags", "url", "protocol", "auth", "endpoints",
  "healthCheck", "rateLimit", "version", "visibility", "trustLevel", "metadata", "ttl", "isLocal", "status",
] as const satisfies readonly (keyof ServiceRegistration & keyof ServiceRecord)[];

export interface PlanOptions {
  /** Where `token_env` variables are looked up (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Told about `token_env` variables that are not set. */
  warn?(message: string): void;
}

/**
 * The credential of a `token_env` entry: the variable's value to send as `auth.token` (stored in the
 * server's vault), or, when it is unset, the reference `env:NAME` that the protocol's conversion made.
 */
function withCredential(input: ServiceRegistrationInput, tokenEnv: string | undefined, id: string, options: PlanOptions): ServiceRegistrationInput {
  if (tokenEnv === undefined || input.auth === undefined) return input;
  const value = (options.env ?? process.env)[tokenEnv];
  if (value === undefined || value === "") {
    options.warn?.(`${id}: ${tokenEnv} is not set; registering the reference env:${tokenEnv} (the server that uses it must have it)`);
    return input;
  }
  const { credentialRef: _reference, ...auth } = input.auth as Record<string, unknown>;
  return { ...input, auth: { ...auth, token: value } } as ServiceRegistrationInput;
}

/** True when a planned registration carries a raw credential for the vault. */
const carriesToken = (planned: ServiceRegistration) => (planned.auth as { token?: string }).token !== undefined;

/** Validates a manifest document and turns it into registrations (the protocol's `planManifest`). Nothing is sent yet. */
export function planManifest(document: unknown, fileName: string, options: PlanOptions = {}): PlannedService[] {
  // Not a manifest at all is a usage error (exit 2); a manifest with bad entries is a validation error.
  const manifest = ManifestSchema.safeParse(document);
  if (!manifest.success) throw usageError(`${fileName}: not a service manifest (expected a \`services:\` list)`, fieldErrorsFromZod(manifest.error));
  const plan = planManifestEntries(document, basename(fileName), (registration, entry) => withCredential(registration, entry.auth?.token_env, entry.id, options));
  if (!plan.ok) throw new CliError(`${fileName}: ${plan.problems.length} invalid field(s); nothing was applied`, "validation_failed", EXIT.validation, plan.problems);
  return plan.services;
}

/** Fields the server fills in when a registration leaves them out (`protocol` from the URL's scheme). */
const DERIVED_FIELDS = new Set<string>(["protocol"]);

export function isUnchanged(planned: ServiceRegistration, record: ServiceRecord): boolean {
  if (carriesToken(planned)) return false;
  if (planned.owner !== undefined && planned.owner !== record.owner) return false;
  return COMPARED_FIELDS.every((field) => {
    const want: unknown = planned[field];
    const have: unknown = record[field];
    if (want === undefined && DERIVED_FIELDS.has(field)) return true;
    return (want === undefined && have === undefined) || isDeepStrictEqual(want, have);
  });
}

async function getOrUndefined(client: KaiClient, id: string): Promise<ServiceRecord | undefined> {
  try {
    return await client.services.get(id);
  } catch (error) {
    if (error instanceof KaiApiError && error.code === "not_found") return undefined;
    throw error;
  }
}

/** Up to this many entries, the records are read one GET each; above, in one listing of what the caller sees. */
const READ_EACH_UP_TO = 50;

/**
 * The records the registry holds for the manifest's ids (those the caller may see: a GET and the listing agree).
 * One listing, 1000 records a page, instead of a request per entry: 100,000 GETs would take longer than the writes.
 */
async function readExisting(client: KaiClient, planned: PlannedService[]): Promise<Map<string, ServiceRecord>> {
  const existing = new Map<string, ServiceRecord>();
  if (planned.length <= READ_EACH_UP_TO) {
    for (const service of planned) {
      const record = await getOrUndefined(client, service.id);
      if (record) existing.set(service.id, record);
    }
    return existing;
  }
  const wanted = new Set(planned.map((service) => service.id));
  for await (const record of client.services.listAll({ location: "local", pageSize: 1000 })) {
    if (wanted.has(record.id)) existing.set(record.id, record);
  }
  return existing;
}

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
  /** Called for each service once its batch is done, so results show on long manifests and survive a later failure. */
  onResult?(result: ApplyResult): void;
  /** Called after each batch: how many of the manifest's entries are done (applied or found unchanged) of how many. */
  onProgress?(done: number, total: number): void;
  /** Changed entries per bulk request, 1..1000 (default 1000). */
  batchSize?: number;
}

/** One entry of the manifest on its way: where it is in the file and what the registry holds for it. */
interface Pending {
  index: number;
  service: PlannedService;
  existing: ServiceRecord | undefined;
  unchanged: boolean;
}

export async function applyManifest(client: KaiClient, fileName: string, planned: PlannedService[], options: ApplyOptions): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  const report = (result: ApplyResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const batchSize = Math.max(1, Math.min(BULK_REGISTRATION_MAX, Math.trunc(options.batchSize ?? BULK_REGISTRATION_MAX)));
  const owners = new Set<string>();
  const stored = await readExisting(client, planned);
  const applied = { created: 0, updated: 0, unchanged: 0, batches: 0 };
  let done = 0;
  // A window is a run of the manifest holding one batch of changed entries (and the unchanged ones among them), so
  // results are reported in the manifest's order.
  let window: Pending[] = [];
  let changedInWindow = 0;
  const flush = async () => {
    const changed = window.filter((entry) => !entry.unchanged);
    const actions = new Map<number, ApplyAction>();
    if (changed.length > 0 && !options.dryRun) {
      const answer = await sendBatch(client, changed, { ...applied, done, total: planned.length });
      applied.batches++;
      answer.results.forEach((result, k) => {
        // A token entry the registry found unchanged still had its vaulted value written again: it counts as updated.
        const entry = changed[k]!;
        actions.set(entry.index, result.action === "unchanged" && carriesToken(entry.service.normalised) ? "updated" : result.action);
      });
    }
    for (const entry of window) {
      const action = entry.unchanged ? "unchanged" : (actions.get(entry.index) ?? (entry.existing ? "updated" : "created"));
      if (action !== "pruned") applied[action]++;
      report({ id: entry.service.id, action });
    }
    done += window.length;
    window = [];
    changedInWindow = 0;
    options.onProgress?.(done, planned.length);
  };
  for (const [index, service] of planned.entries()) {
    const existing = stored.get(service.id);
    if (existing) owners.add(existing.owner);
    if (service.normalised.owner !== undefined) owners.add(service.normalised.owner);
    const unchanged = existing !== undefined && isUnchanged(service.normalised, existing);
    window.push({ index, service, existing, unchanged });
    if (!unchanged && ++changedInWindow === batchSize) await flush();
  }
  if (window.length > 0) await flush();
  if (options.prune) {
    // Only the caller's own services (and those of owners this manifest wrote) are candidates: an admin
    // applying `services.yaml` must not delete another team's services applied from their own `services.yaml`.
    owners.add((await client.status()).caller.owner);
    const appliedFrom = basename(fileName);
    const keep = new Set(planned.map((service) => service.id));
    const stale: string[] = [];
    for await (const record of client.services.listAll({})) {
      if (record.metadata.appliedFrom === appliedFrom && !keep.has(record.id) && owners.has(record.owner)) stale.push(record.id);
    }
    for (const id of stale) {
      if (!options.dryRun) await client.services.remove(id);
      report({ id, action: "pruned" });
    }
  }
  return results;
}

/** What was applied before a batch, for the message of a batch that is refused. */
interface Applied {
  created: number;
  updated: number;
  unchanged: number;
  batches: number;
  done: number;
  total: number;
}

/**
 * Sends one batch. A refusal says what was applied and what not, and points at the manifest's entries: the server
 * names `services.<i>` of the batch, which is the manifest's `services.<index>` only when nothing was skipped.
 */
async function sendBatch(client: KaiClient, batch: Pending[], before: Applied) {
  try {
    return await client.services.registerMany(batch.map((entry) => entry.service.input));
  } catch (error) {
    if (!(error instanceof KaiApiError)) throw error;
    const toFile = (text: string) => text.replace(/\bservices\.(\d+)/g, (whole, k: string) => {
      const entry = batch[Number(k)];
      return entry ? `services.${entry.index}` : whole;
    });
    const first = batch[0]!.index + 1;
    const last = batch[batch.length - 1]!.index + 1;
    const message =
      `batch ${before.batches + 1} (manifest entries ${first}-${last}, ${batch.length} changed) was refused, so none of it was applied: ${toFile(error.message)}. ` +
      `Applied before it: ${before.batches} batch(es) covering entries 1-${before.done} of ${before.total} (${before.created} created, ${before.updated} updated, ${before.unchanged} unchanged); ` +
      `entries ${before.done + 1}-${before.total} were not applied (entries are numbered from 1; paths such as services.<i> from 0).`;
    const details: FieldError[] | undefined = error.details?.map((detail) => ({ ...detail, path: toFile(detail.path.replace(/^body\./, "")) }));
    throw new CliError(message, error.code, exitCodeForApiCode(error.code), details);
  }
}
