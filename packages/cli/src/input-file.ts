/**
 * @module input-file
 * Reads a document the user points at with `-f` (a path, or `-` for stdin) and turns it into data:
 * JSON through `parseJson`, everything else through the YAML parser. Any failure here is a usage
 * error (exit 2): the file, not the server, is wrong. The YAML parser is loaded only for a document that is not
 * JSON (it is a tenth of the CLI's start otherwise).
 */
import { readFileSync } from "node:fs";
import { parseJson } from "@kai/protocol";
import { usageError } from "./cli-error.js";

/** Whole of stdin as text (for `-f -`, and for secrets that must not travel on argv). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export async function readText(path: string): Promise<string> {
  if (path === "-") return readStdin();
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read it";
    throw usageError(`${path}: ${reason}`);
  }
}

/** Parses YAML or JSON. JSON is recognised by extension or by a leading `{`/`[`. */
export async function parseDocument(text: string, name: string): Promise<unknown> {
  const looksJson = name.endsWith(".json") || /^\s*[[{]/.test(text);
  if (looksJson) {
    const result = parseJson(text);
    if (result.ok) return result.value;
    if (name.endsWith(".json")) throw usageError(`${name}: not valid JSON: ${result.error}`);
    // A YAML flow mapping also starts with `{`; let the YAML parser have a go.
  }
  const { parse: parseYaml } = await import("yaml");
  try {
    // `uniqueKeys` (default) refuses duplicate keys, a common copy-paste mistake in manifests.
    return parseYaml(text, { prettyErrors: true }) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : "not valid YAML";
    throw usageError(`${name}: not valid YAML: ${message}`);
  }
}

export async function readDocument(path: string): Promise<unknown> {
  const text = await readText(path);
  const value = await parseDocument(text, path === "-" ? "stdin" : path);
  if (value === null || value === undefined) throw usageError(`${path === "-" ? "stdin" : path}: the document is empty`);
  return value;
}
