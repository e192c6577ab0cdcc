/**
 * @module views/services/import/manifest
 * Reads a service manifest (the YAML `services:` list `kai services apply` takes) into registrations with the
 * protocol's own planManifest (its schemas and manifestEntryToRegistration), so the app and the CLI agree on what a
 * file means. Like the CLI, it checks the whole file before anything is sent (a typo in entry 7 must not leave six
 * applied) and tags each service with `metadata.appliedFrom` (the file's name), so `kai services apply --prune`
 * later recognises what this file registered. A `token_env` stays the reference `env:NAME`: the browser has no
 * environment to read it from, and the node that uses it does.
 */
import { parseYamlDocument } from "@kai/protocol/yaml";
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
  // The CLI's parser (js-yaml through @kai/protocol/yaml): the same meaning for the same file, and a large manifest
  // read in seconds, not the ~40 s the `yaml` package took for 100,000 entries (the tab frozen meanwhile).
  const parsed = parseYamlDocument(text);
  if (!parsed.ok) return { ok: false, problems: [{ path: "(file)", message: yamlProblem(text, parsed) }] };
  const document = parsed.value;
  const plan = planManifestEntries(document, baseName(fileName));
  if (!plan.ok) return plan;
  if (plan.services.length === 0) return { ok: false, problems: [{ path: "services", message: "the manifest lists no services" }] };
  return { ok: true, services: plan.services.map(({ id, input, normalised }) => ({ id, name: normalised.name, url: normalised.url, input })) };
}

/** `not valid YAML at line 4, column 1: <the parser's reason>`. */
function yamlProblem(text: string, parsed: { problem: string; offset: number | undefined }): string {
  if (parsed.offset === undefined) return `not valid YAML: ${parsed.problem}`;
  const { line, column } = placeOf(text, parsed.offset);
  return `not valid YAML at line ${line}, column ${column}: ${parsed.problem}`;
}
