/**
 * @module views/services/import/manifest
 * Reads a service manifest (the YAML `services:` list `kai services apply` takes) into registrations with the
 * protocol's own planManifest (its schemas and manifestEntryToRegistration), so the app and the CLI agree on what a
 * file means. Like the CLI, it checks the whole file before anything is sent (a typo in entry 7 must not leave six
 * applied) and tags each service with `metadata.appliedFrom` (the file's name), so `kai services apply --prune`
 * later recognises what this file registered. A `token_env` stays the reference `env:NAME`: the browser has no
 * environment to read it from, and the node that uses it does.
 */
import { parse } from "yaml";
import { placeOf, planManifest as planManifestEntries, type FieldError, type ServiceRegistrationInput } from "@kai/protocol";

export interface PlannedService {
  id: string;
  name: string;
  url: string | undefined;
  input: ServiceRegistrationInput;
}

export type ManifestPlan = { ok: true; services: PlannedService[] } | { ok: false; problems: FieldError[] };

/** The file name as `appliedFrom` records it (the CLI uses the base name). */
function baseName(fileName: string): string {
  return fileName.split(/[\\/]/).pop() || fileName;
}

export function planManifest(text: string, fileName: string): ManifestPlan {
  let document: unknown;
  try {
    // Without `prettyErrors` the library's message is the problem alone and `pos` its offset: the pretty message's
    // first line ended in a dangling colon (its excerpt of the file followed on the next lines).
    document = parse(text, { prettyErrors: false });
  } catch (error) {
    return { ok: false, problems: [{ path: "(file)", message: yamlProblem(text, error) }] };
  }
  const plan = planManifestEntries(document, baseName(fileName));
  if (!plan.ok) return plan;
  if (plan.services.length === 0) return { ok: false, problems: [{ path: "services", message: "the manifest lists no services" }] };
  return { ok: true, services: plan.services.map(({ id, input, normalised }) => ({ id, name: normalised.name, url: normalised.url, input })) };
}

/** `not valid YAML at line 4, column 1: <the library's message>`. */
function yamlProblem(text: string, error: unknown): string {
  if (!(error instanceof Error)) return "not valid YAML";
  const pos = (error as { pos?: unknown }).pos;
  if (!Array.isArray(pos) || typeof pos[0] !== "number") return `not valid YAML: ${error.message}`;
  const { line, column } = placeOf(text, pos[0]);
  return `not valid YAML at line ${line}, column ${column}: ${error.message}`;
}
