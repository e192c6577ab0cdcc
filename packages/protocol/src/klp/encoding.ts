/**
 * @module klp/encoding
 * Byte encodings KLP uses on the wire: base64url without padding (RFC 4648 §5) for every binary value,
 * UTF-8 for signed text, hex only for test vectors. Wraps @scure/base so no hand-written codec exists.
 */
import { base64urlnopad, hex } from "@scure/base";

/** Encodes bytes as base64url without `=` padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return base64urlnopad.encode(bytes);
}

/**
 * Decodes unpadded base64url; returns `undefined` for anything else. Re-encodes and compares so that
 * only the single canonical spelling of a value is accepted (no padding, no stray low bits): two
 * spellings of one key would otherwise give one key two DIDs.
 */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const bytes = base64urlnopad.decode(text);
    return base64urlnopad.encode(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}

export function toHex(bytes: Uint8Array): string {
  return hex.encode(bytes);
}

export function fromHex(text: string): Uint8Array {
  return hex.decode(text);
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
