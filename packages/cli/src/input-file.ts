/**
 * @module input-file
 * Reads a document the user points at with `-f` (a path, or `-` for stdin) and turns it into data:
 * JSON through `parseJson`, everything else through the YAML parser. Any failure here is a usage
 * error (exit 2): the file, not the server, is wrong. The YAML parser is loaded only for a document that is not
 * JSON (it is a tenth of the CLI's start otherwise). A syntax error is said with its line and column
 * (`syntax-place.ts`, the protocol's `placeOf`): neither parser's own words give a person a place to look in a large file.
 */
import { readFileSync } from "node:fs";
import { parseJson, placeOf } from "@kai/protocol";
import { usageError } from "./cli-error.js";
import { jsonErrorOffset } from "./syntax-place.js";

/** Whole of stdin as text (for `-f -`, and for secrets that must not travel on argv). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Why a file could not be read, in words: the error's code alone (`EISDIR`) is not something a person should decode. */
function unreadable(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "no such file";
    case "EISDIR":
      return "is a directory, not a file";
    default:
      return "cannot read it";
  }
}

export async function readText(path: string): Promise<string> {
  if (path === "-") return readStdin();
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw usageError(`${path}: ${unreadable(error)}`);
  }
}

/** ` at line L, column C` of `offset` in `text`, or nothing when the parser named no place. */
function at(text: string, offset: number | undefined): string {
  if (offset === undefined) return "";
  const { line, column } = placeOf(text, offset);
  return ` at line ${line}, column ${column}`;
}

/** Parses YAML or JSON. JSON is recognised by extension or by a leading `{`/`[`. */
export async function parseDocument(text: string, name: string): Promise<unknown> {
  const looksJson = name.endsWith(".json") || /^\s*[[{]/.test(text);
  if (looksJson) {
    const result = parseJson(text);
    if (result.ok) return result.value;
    if (name.endsWith(".json")) {
      const place = result.reason === "syntax" ? at(text, jsonErrorOffset(text, result.error)) : "";
      throw usageError(`${name}: not valid JSON${place}: ${result.error}`);
    }
    // A YAML flow mapping also starts with `{`; let the YAML parser have a go.
  }
  // Loaded only for a document that is not JSON; js-yaml, not the `yaml` package: 11× faster on a large manifest
  // (yaml-document.ts in @kai/protocol says why, and how aliases are kept from growing a document without end).
  const { parseYamlDocument } = await import("@kai/protocol/yaml");
  const parsed = parseYamlDocument(text);
  if (parsed.ok) return parsed.value;
  throw usageError(`${name}: not valid YAML${at(text, parsed.offset)}: ${parsed.problem}`);
}

/**
 * The data of a document's text, refused when there is none: a blank file, or a document that holds only comments
 * or `null`. Why refused here: each command would otherwise check `null` against its schema and say `(root): expected
 * object, received null`, which does not tell a person that the file they named is empty.
 */
export async function documentFrom(text: string, name: string): Promise<unknown> {
  if (text.trim() === "") throw usageError(`${name} is empty`);
  const value = await parseDocument(text, name);
  if (value === null || value === undefined) throw usageError(`${name}: the document is empty (nothing but comments or null)`);
  return value;
}

export async function readDocument(path: string): Promise<unknown> {
  return documentFrom(await readText(path), path === "-" ? "stdin" : path);
}
