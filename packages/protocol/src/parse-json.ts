/**
 * @module parse-json
 * The one place that turns untrusted text into JSON. Returns a result instead of throwing, so that
 * callers must handle bad input; strips `__proto__` keys so parsed data cannot pollute prototypes; and
 * refuses nesting deeper than `maxDepth`, because recursive validators (and anything else that walks
 * the value) would otherwise overflow the stack on a small, deeply nested body.
 *
 * Where what is parsed will be stored or signed (the server's request bodies, KLP messages), callers also
 * ask for well-formed text (`wellFormed: true`, or bytes through `parseJsonBytes`): invalid UTF-8 and
 * strings holding an unpaired UTF-16 surrogate (`"\ud800"` is valid JSON) are refused. Such a string
 * cannot be canonicalised (RFC 8785) or signed, and UTF-8 cannot hold it: kept, it would either break
 * every signed answer it appears in or be silently changed to U+FFFD on the way to disk. Readers of data
 * that may already hold such strings (the store's own documents, a server's answers) stay lenient, so one
 * old record cannot make a whole listing unreadable.
 */
export type JsonFailure = "syntax" | "depth" | "encoding" | "text";

export type JsonResult =
  | { ok: true; value: unknown }
  /** `path`: where the ill-formed text is, dotted as in validation errors (`metadata.notes.0`, `(root)`). */
  | { ok: false; error: string; reason: JsonFailure; path?: string };

export interface ParseJsonOptions {
  /** Deepest nesting accepted (default `DEFAULT_MAX_JSON_DEPTH`). */
  maxDepth?: number;
  /** Refuse strings and member names holding an unpaired surrogate (reason `text`). */
  wellFormed?: boolean;
}

/** Deeper than any real service record needs; far below what a recursive walk can survive. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** An unpaired surrogate: with the `u` flag a paired one is a single code point above U+FFFF and does not match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** What must be in JSON text for a parsed string to hold a lone surrogate: the raw code unit, or a `\uD8xx`–`\uDFxx` escape. */
const MAYBE_LONE_SURROGATE = /[\uD800-\uDFFF]|\\u[dD][89a-fA-F]/u;

/** True when `text` holds no unpaired UTF-16 surrogate, i.e. it can be encoded as UTF-8 and canonicalised. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * Where in `value` a string or member name holds an unpaired surrogate (dotted path), or `undefined`.
 * Iterative, like `sanitize`, so that no input can overflow the stack.
 */
export function findIllFormedText(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, ""]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === "string") {
      if (LONE_SURROGATE.test(current)) return path || "(root)";
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    const prefix = path ? `${path}.` : "";
    if (Array.isArray(current)) {
      current.forEach((child, index) => stack.push([child, `${prefix}${index}`]));
      continue;
    }
    for (const key in current as Record<string, unknown>) {
      // The name itself cannot go into the path (it is the bad text): the object it belongs to is named.
      if (LONE_SURROGATE.test(key)) return `${path || "(root)"} (a member name)`;
      stack.push([(current as Record<string, unknown>)[key], `${prefix}${key}`]);
    }
  }
  return undefined;
}

/**
 * One walk over the parsed value: deletes own `__proto__` keys and tells whether nesting exceeds `maxDepth`.
 * Iterative on purpose: a recursive walk would itself overflow on the inputs it is meant to refuse.
 * (Done here rather than with a JSON.parse reviver, which makes parsing several times slower: measured on
 * a 600-byte service record, the reviver was the largest cost of parsing a registration.)
 */
function sanitize(value: unknown, maxDepth: number): boolean {
  // Two parallel stacks rather than one of [value, depth] pairs: no pair allocated per object of a large body.
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > maxDepth) return false;
    if (Array.isArray(current)) {
      for (const child of current) {
        if (child !== null && typeof child === "object") {
          values.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    const record = current as Record<string, unknown>;
    // JSON.parse makes "__proto__" an own data property (no pollution yet); removing it keeps later
    // spreads and merges of this object from ever setting a prototype.
    if (Object.hasOwn(record, "__proto__")) delete record["__proto__"];
    for (const key in record) {
      const child = record[key];
      if (child !== null && typeof child === "object") {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

export function parseJson(text: string, options: ParseJsonOptions = {}): JsonResult {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : "invalid JSON", reason: "syntax" };
  }
  if (!sanitize(value, maxDepth)) return { ok: false, error: `JSON nested deeper than ${maxDepth} levels`, reason: "depth" };
  // The walk over every string runs only when the text could hold a lone surrogate at all (one scan of the text).
  if (options.wellFormed && MAYBE_LONE_SURROGATE.test(text)) {
    const path = findIllFormedText(value);
    if (path !== undefined) return { ok: false, error: `text at ${path} is not valid Unicode (an unpaired UTF-16 surrogate)`, reason: "text", path };
  }
  return { ok: true, value };
}

/** Fatal: invalid UTF-8 is an error, never U+FFFD. A byte-order mark is kept (and then is not JSON), as before. */
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `bytes` as UTF-8 text, or `undefined` when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** JSON from bytes that will be stored or signed: valid UTF-8 (reason `encoding`) and well-formed text required. */
export function parseJsonBytes(bytes: Uint8Array, options: Omit<ParseJsonOptions, "wellFormed"> = {}): JsonResult {
  const text = decodeUtf8(bytes);
  if (text === undefined) return { ok: false, error: "not valid UTF-8", reason: "encoding" };
  return parseJson(text, { ...options, wellFormed: true });
}
