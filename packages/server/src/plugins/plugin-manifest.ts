/**
 * @module plugins/plugin-manifest
 * Reads a folder's `plugin.yaml` into a validated PluginManifest, or into problems that name the file and the field
 * (`permissions.1: must be one of …`), so an operator can fix a broken plugin from the listing alone. The YAML
 * reader is bounded: a size cap, unique keys, and an alias cap against "billion laughs" expansions.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { PLUGIN_MANIFEST_FILE, PluginManifestSchema, type PluginManifest, type PluginProblem } from "@kai/protocol";

/** A manifest larger than this is refused unread: it is a description, not a payload. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

export type ManifestResult = { ok: true; manifest: PluginManifest } | { ok: false; problems: PluginProblem[] };

/** Reads and validates `<folder>/plugin.yaml`. Never throws. `file` in problems is the manifest's path as given. */
export async function readPluginManifest(folder: string): Promise<ManifestResult> {
  const file = join(folder, PLUGIN_MANIFEST_FILE);
  const fail = (message: string, field?: string): ManifestResult => ({ ok: false, problems: [{ file, ...(field === undefined ? {} : { field }), message }] });
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) return fail("is not a regular file");
    if (info.size > MAX_MANIFEST_BYTES) return fail(`is larger than ${MAX_MANIFEST_BYTES} bytes`);
    text = await readFile(file, "utf8");
  } catch (error) {
    return fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return parsePluginManifest(text, file);
}

/** Parses manifest text (YAML, which includes JSON) named `file` in problems. Never throws. */
export function parsePluginManifest(text: string, file: string): ManifestResult {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, problems: document.errors.slice(0, 10).map((error) => ({ file, message: `not valid YAML: ${yamlMessage(error.message, error.linePos?.[0])}` })) };
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ file, message: `not valid YAML: ${(error as Error).message}` }] };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { ok: false, problems: [{ file, message: "must hold a mapping (id: …, name: …)" }] };
  const parsed = PluginManifestSchema.safeParse(raw);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.slice(0, 50).map((issue) => {
      const field = issueField(issue.path, issue.code === "unrecognized_keys" ? issue.keys : undefined);
      return { file, ...(field === "" ? {} : { field }), message: issue.code === "unrecognized_keys" ? "is not a manifest field" : issue.message };
    }),
  };
}

/** The dotted field of a zod issue; an unknown key is named itself (`ui.colour`), not its parent. */
function issueField(path: readonly PropertyKey[], keys: readonly string[] | undefined): string {
  const parts = path.map(String);
  if (keys && keys.length > 0) parts.push(keys.join(", "));
  return parts.join(".");
}

/** The YAML library's first line, with the line number (its full message quotes the source, which may be long). */
function yamlMessage(message: string, position: { line: number; col: number } | undefined): string {
  const first = message.split("\n", 1)[0] ?? message;
  return position ? `${first.replace(/ at line \d+, column \d+:?$/, "")} (line ${position.line}, column ${position.col})` : first;
}
