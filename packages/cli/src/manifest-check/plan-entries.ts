/**
 * @module manifest-check/plan-entries
 * Checks manifest entries and turns them into registrations: the protocol's `planManifest` with the CLI's parts,
 * a `token_env` variable's value sent as `auth.token` and the schemas compiled. Used on the main thread for a whole
 * document, and by each thread of a parallel check for its slices (`check-worker.ts`), so both check alike. It imports
 * only the protocol's manifest entry (and nothing that imports its index): a thread's start is mostly its imports.
 */
import { basename } from "node:path";
import {
  ManifestServiceSchema,
  planManifest as planManifestEntries,
  type PlanManifestOptions,
  type PlannedRegistration,
  ServiceRegistrationSchema,
  type ServiceRegistrationInput,
} from "@kai/protocol/manifest";
import { z } from "zod";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-code-numbers.js";

export interface PlanOptions {
  /** Where `token_env` variables are looked up (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Told about `token_env` variables that are not set. */
  warn?(message: string): void;
  /** What the services are tagged with (`metadata.appliedFrom`; source-name.ts); default: the file's name. */
  sourceName?: string;
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

/**
 * The protocol's schemas compiled (zod's generated parsers: same rules, same values, about half the time on a
 * 100,000-entry manifest). Compiled on first use, so that other commands do not pay for it at start.
 */
let compiledSchemas: PlanManifestOptions["schemas"];
export const manifestSchemas = () => (compiledSchemas ??= { entry: z.compile(ManifestServiceSchema), registration: z.compile(ServiceRegistrationSchema) });

/** Validates a manifest document and turns it into registrations (the protocol's `planManifest`). Nothing is sent yet. */
export function planManifest(document: unknown, fileName: string, options: PlanOptions = {}): PlannedRegistration[] {
  const plan = planManifestEntries(document, options.sourceName ?? basename(fileName), {
    credential: (registration, entry) => withCredential(registration, entry.auth?.token_env, entry.id, options),
    schemas: manifestSchemas(),
  });
  if (plan.ok) return plan.services;
  // Not a manifest at all is a usage error (exit 2); a manifest with bad entries is a validation error.
  if (plan.notAManifest) throw usageError(`${fileName}: not a service manifest (expected a \`services:\` list)`, plan.problems);
  throw new CliError(`${fileName}: ${plan.problems.length} invalid field(s); nothing was applied`, "validation_failed", EXIT.validation, plan.problems);
}

