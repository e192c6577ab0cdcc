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
import { planManifest as planManifestEntries, type FieldError, type ServiceRegistrationInput } from "@kai/protocol";

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
    document = parse(text);
  } catch (error) {
    return { ok: false, problems: [{ path: "(file)", message: `not valid YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}` }] };
  }
  const plan = planManifestEntries(document, baseName(fileName));
  if (!plan.ok) return plan;
  if (plan.services.length === 0) return { ok: false, problems: [{ path: "services", message: "the manifest lists no services" }] };
  return { ok: true, services: plan.services.map(({ id, input, normalised }) => ({ id, name: normalised.name, url: normalised.url, input })) };
}
