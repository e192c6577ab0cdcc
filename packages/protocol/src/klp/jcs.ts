/**
 * @module klp/jcs
 * RFC 8785 JSON Canonicalization Scheme: the exact text KLP signs. Uses the `canonicalize` library
 * (ECMAScript number formatting, UTF-16 code-unit key order, JSON.stringify string escaping) rather
 * than a hand-written serialiser; this module only narrows its loose return type and error behaviour.
 */
import canonicalize from "canonicalize";
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
