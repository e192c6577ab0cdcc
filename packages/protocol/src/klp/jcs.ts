/**
 * @module klp/jcs
 * RFC 8785 JSON Canonicalization Scheme: the exact text KLP signs. Uses the `canonicalize` library
 * (ECMAScript number formatting, UTF-16 code-unit key order, JSON.stringify string escaping) rather
 * than a hand-written serialiser; this module only narrows its loose return type and error behaviour.
 */
import canonicalize from "canonicalize";
import { isWellFormedText } from "../parse-json.js";
import { utf8 } from "./encoding.js";

/**
 * The JCS text of a JSON value. Throws on values JSON cannot carry (NaN, Infinity, lone surrogates,
 * cycles, a top-level `undefined`), because signing an approximation would sign something else.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value has no JSON representation");
  return text;
}

/** The UTF-8 bytes of the JCS text. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

/** Far deeper than any signed document nests (parsed input is capped at 64 levels). */
const MAX_CANONICAL_DEPTH = 1000;

/**
 * Whether `canonicalJson(value)` can succeed for a JSON-shaped value: every string and member name is
 * well-formed (no unpaired surrogate) and every number finite. A walk, far cheaper than canonicalising to
 * find out, for code that must leave out one bad record instead of failing a whole signed answer with it.
 */
export function canonicalisable(value: unknown): boolean {
  // Depth-bounded so that a cyclic value (which canonicalize refuses too) ends the walk instead of looping.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === "string") {
      if (!isWellFormedText(current)) return false;
    } else if (typeof current === "number") {
      if (!Number.isFinite(current)) return false;
    } else if (typeof current === "bigint") {
      return false;
    } else if (current !== null && typeof current === "object") {
      if (depth >= MAX_CANONICAL_DEPTH) return false;
      if (Array.isArray(current)) {
        for (const child of current) stack.push([child, depth + 1]);
        continue;
      }
      for (const [key, child] of Object.entries(current)) {
        if (!isWellFormedText(key)) return false;
        stack.push([child, depth + 1]);
      }
    }
  }
  return true;
}
