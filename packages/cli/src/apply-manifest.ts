/**
 * @module apply-manifest
 * `kai services apply`: brings the registry in line with a manifest (seed 001's `services:` list).
 * Each entry is converted with the protocol's `manifestEntryToRegistration`, tagged with
 * `metadata.appliedFrom = <file name>` so that a later `--prune` knows which services came from this
 * file, and registered only when it differs from what the registry holds (so a second apply is a no-op).
 * A `token_env: NAME` whose variable is set is sent as `auth.token`: the server moves it into its vault
 * and keeps only `credentialRef: vault:services/<id>/credential`. Such entries are always re-sent, because
 * whether the vaulted value is still current cannot be seen from the registry.
 */
import { basename } from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  fieldErrorsFromZod,
  ManifestSchema,
  planManifest as planManifestEntries,
  type PlannedRegistration,
  type ServiceRecord,
  type ServiceRegistration,
  type ServiceRegistrationInput,
} from "@kai/protocol";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { CliError, usageError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";

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

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
  /** Called after each service, so progress shows on long manifests and survives a later failure. */
  onResult?(result: ApplyResult): void;
}

export async function applyManifest(client: KaiClient, fileName: string, planned: PlannedService[], options: ApplyOptions): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  const report = (result: ApplyResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const owners = new Set<string>();
  for (const service of planned) {
    const existing = await getOrUndefined(client, service.id);
    if (existing) owners.add(existing.owner);
    if (existing && isUnchanged(service.normalised, existing)) {
      report({ id: service.id, action: "unchanged" });
    } else if (options.dryRun) {
      report({ id: service.id, action: existing ? "updated" : "created" });
    } else {
      const { service: record, created } = await client.services.register(service.input);
      owners.add(record.owner);
      report({ id: service.id, action: created ? "created" : "updated" });
    }
  }
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
