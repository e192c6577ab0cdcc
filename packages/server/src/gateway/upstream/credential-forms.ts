/**
 * @module gateway/upstream/credential-forms
 * Every form in which a provider can echo a credential back, so that scrubbing catches more than the exact string.
 * A hostile or careless upstream that answers with the key base64-encoded, URL-encoded or inside the Basic header it
 * was sent would otherwise have it relayed to the caller and written to the log. For a credential this covers:
 *
 * - the value, its password alone when it is a `user:password` pair (HTTP Basic), and the Basic token
 *   `base64(value)`: the strings that actually travel;
 * - each of those percent-encoded (either hex case, `+` for a space as forms encode it, any character escaped or
 *   not) and JSON-escaped, matched by one regular expression per string;
 * - each of those base64- and base64url-encoded, whole and at all three byte alignments: base64 of a string that
 *   sits inside a longer one (`base64("user:" + secret)`, a whole header value) depends on its offset mod 3, so
 *   what is scrubbed is the run of characters that depends on the secret's bytes alone, for each offset. At most a
 *   partial character (4 bits) and the padding are left either side.
 *
 * The forms are computed once per credential and kept in a small cache, not per request: scrubbing runs only on the
 * error path, and the hot path never touches it. The cache holds forms as secret as the credential itself, so it is
 * bounded and, at the next scrub, forgets a credential unused for `FORGET_AFTER_MS`, like the gateway's own
 * credential cache.
 *
 * The patterns cost more per character than a plain search (a hostile 4 MB body of near-matches took seconds), and
 * every caller keeps only a short message, so `scrubWindow` scrubs a bounded prefix of a text, never a whole body.
 */

/** What replaces a credential in any text that leaves the gateway. */
export const REDACTED_TEXT = "[redacted]";

/**
 * Derived forms shorter than this are not scrubbed: a 2-character secret's base64 core would match ordinary text.
 * The exact credential is always scrubbed, whatever its length.
 */
const MIN_DERIVED_CHARS = 6;
const MAX_CACHED = 128;
const FORGET_AFTER_MS = 10 * 60_000;

interface CredentialForms {
  /** Literal strings (base64 forms), longest first so a whole encoding goes before its core. */
  readonly literals: readonly string[];
  /** The strings that travel, each literally, percent-encoded in any way or JSON-escaped. */
  readonly patterns: readonly RegExp[];
  usedAt: number;
}

const cache = new Map<string, CredentialForms>();

/** Characters of a text that are scrubbed and kept at most (callers keep 300): see `scrubWindow`. */
export const SCRUB_WINDOW_CHARS = 4096;

/**
 * `scrub` applied to at most the first `SCRUB_WINDOW_CHARS` characters of `text` (plus a margin), the rest dropped.
 * When the text is cut, a form of a secret can be cut in two at the window's end, and its first part would escape
 * the patterns: the result's last characters, as many as the longest form of any of `secrets` can have, are dropped
 * too. That bound is 12 per character of a secret: the percent-encoded Basic token of it (a character is at most
 * 3 UTF-8 bytes per UTF-16 unit, base64 makes 3 bytes into 4 characters, percent-encoding 1 into 3).
 */
export function scrubWindow(text: string, secrets: readonly string[], scrub: (text: string) => string): string {
  const margin = 12 * secrets.reduce((longest, secret) => Math.max(longest, secret.length), 0) + 16;
  if (text.length <= SCRUB_WINDOW_CHARS + margin) return scrub(text);
  const out = scrub(text.slice(0, SCRUB_WINDOW_CHARS + margin));
  return out.slice(0, out.length - margin);
}

/** Replaces `credential` in every form `formsOf` knows with `[redacted]`. */
export function scrubCredential(text: string, credential: string): string {
  if (!credential || !text) return text;
  const forms = formsOf(credential);
  let out = text;
  for (const pattern of forms.patterns) {
    pattern.lastIndex = 0;
    out = out.replace(pattern, REDACTED_TEXT);
  }
  for (const literal of forms.literals) if (out.includes(literal)) out = out.split(literal).join(REDACTED_TEXT);
  return out;
}

function formsOf(credential: string): CredentialForms {
  const now = Date.now();
  // The map is in least-recently-used order: drop from its front what is stale or over the bound.
  for (const [key, entry] of cache) {
    if (cache.size < MAX_CACHED && now - entry.usedAt < FORGET_AFTER_MS) break;
    cache.delete(key);
  }
  const cached = cache.get(credential);
  if (cached) {
    // Re-inserted so the map's order stays least recently used first.
    cache.delete(credential);
    cached.usedAt = now;
    cache.set(credential, cached);
    return cached;
  }
  const forms = computeForms(credential, now);
  cache.set(credential, forms);
  return forms;
}

function computeForms(credential: string, now: number): CredentialForms {
  const travelling = [credential];
  const colon = credential.indexOf(":");
  if (colon >= 0 && credential.length - colon - 1 >= MIN_DERIVED_CHARS) travelling.push(credential.slice(colon + 1));
  const basicToken = Buffer.from(credential, "utf8").toString("base64");
  if (basicToken.length >= MIN_DERIVED_CHARS) travelling.push(basicToken);

  const literals = new Set<string>();
  for (const value of travelling) for (const form of base64Forms(value)) if (form.length >= MIN_DERIVED_CHARS) literals.add(form);
  const patterns = travelling.map((value) => textPattern(value, value === credential));
  return { literals: [...literals].sort((a, b) => b.length - a.length), patterns: patterns.filter((pattern): pattern is RegExp => pattern !== null), usedAt: now };
}

/**
 * `value` in base64 and base64url: whole (padded and not), and for each byte offset mod 3 at which it can sit
 * inside a longer encoded string, the characters that depend on its bytes alone.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out: string[] = [];
  for (const encoding of ["base64", "base64url"] as const) {
    out.push(bytes.toString(encoding));
    for (let offset = 0; offset < 3; offset += 1) {
      // `offset` filler bytes in front put the value at that alignment; the characters that cover filler bits, and a
      // last character that would also cover the next (unknown) byte, are dropped.
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding).replace(/=+$/, "");
      const first = Math.ceil((offset * 8) / 6);
      const last = ((offset + bytes.length) * 8) % 6 === 0 ? encoded.length : encoded.length - 1;
      out.push(encoded.slice(first, last));
    }
  }
  return out;
}

/**
 * A pattern matching `value` with any of its characters as itself or percent-encoded (UTF-8, either hex case; a
 * space also as `+`), or JSON-escaped as a whole. Null when `value` is too short to scrub anywhere but literally
 * and `exact` is false.
 */
function textPattern(value: string, exact: boolean): RegExp | null {
  if (!exact && value.length < MIN_DERIVED_CHARS) return null;
  if (value.length < MIN_DERIVED_CHARS) return new RegExp(escapeRegExp(value), "g");
  const characters = [...value].map((character) => {
    const escapes = [...Buffer.from(character, "utf8")].map((byte) => {
      const hex = byte.toString(16).toUpperCase().padStart(2, "0");
      return `%${hexClass(hex[0] ?? "0")}${hexClass(hex[1] ?? "0")}`;
    });
    const options = [escapeRegExp(character), escapes.join("")];
    if (character === " ") options.push("\\+");
    return `(?:${options.join("|")})`;
  });
  const json = JSON.stringify(value).slice(1, -1);
  const alternatives = [characters.join("")];
  if (json !== value) alternatives.push(escapeRegExp(json));
  return new RegExp(alternatives.join("|"), "g");
}

const hexClass = (digit: string) => (/[A-F]/.test(digit) ? `[${digit}${digit.toLowerCase()}]` : digit);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
