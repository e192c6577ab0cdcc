/**
 * @module manifest-check/services-array
 * Finds where each entry of a JSON manifest's `services` list starts and ends in the file's bytes, without parsing
 * the entries, so that the entries can be parsed and checked in slices on several threads (`parallel-check.ts`).
 *
 * Only the exact outline `{"services":[ … ]}` (JSON whitespace allowed between tokens, the key spelled without
 * escapes) is recognised; anything else (another key, a byte-order mark, YAML, an empty list, text after the
 * closing brace) answers `undefined` and the caller checks the file the ordinary way, which also says precisely
 * what is wrong with it. The entries themselves are not checked here: each slice is parsed by `parseJson` later, so
 * a syntax error inside an entry is found there.
 *
 * Hand-written because no JSON library reports element boundaries of a byte buffer without building the values (the
 * streaming parsers build them, and are many times slower than `JSON.parse`, which is what the slices go to). Strings
 * are skipped with `indexOf` (a native search), so most of a manifest's bytes are not looked at one by one.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SERVICES_KEY = Buffer.from('"services"');

/** Entry `i` of the list is `bytes[starts[i], ends[i])`. */
export interface ServicesArray {
  starts: Uint32Array<ArrayBuffer>;
  ends: Uint32Array<ArrayBuffer>;
}

const isWhitespace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

function skipWhitespace(bytes: Uint8Array, at: number): number {
  while (at < bytes.length && isWhitespace(bytes[at]!)) at++;
  return at;
}

/** The index just past the string whose opening quote is at `at`, or -1 when it is not closed. */
function skipString(bytes: Buffer, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    // Escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * Scans the list `{"services":[…]}` for its entries' boundaries a run of entries at a time (`take`), so that the runs
 * found first can be checked on other threads while the rest of the file is still being scanned. Whether the outline
 * closes properly is known only at the end: until then, a run handed out may belong to a file that turns out not to be
 * the outline (or to have an entry whose bracket or brace is left unclosed), which the ordinary check then names.
 */
export class ServiceEntryScanner {
  private at = 0;
  /** Where the next entry starts. */
  private start = 0;
  private state: "entries" | "ended" | "invalid" = "entries";

  constructor(private readonly bytes: Buffer) {
    const first = firstEntry(bytes);
    if (first === undefined) this.state = "invalid";
    else this.at = this.start = first;
  }

  /**
   * The next `most` entries (fewer only in the list's last run); `null` once the list has ended and the outline closed
   * as it must; `undefined` when the bytes are not the outline (or an entry's bracket or brace is left unclosed).
   */
  take(most: number): ServicesArray | null | undefined {
    if (this.state === "invalid") return undefined;
    if (this.state === "ended") return null;
    const bytes = this.bytes;
    const starts = new Uint32Array(most);
    const ends = new Uint32Array(most);
    let count = 0;
    let depth = 0;
    let at = this.at;
    let start = this.start;
    while (count < most) {
      if (at >= bytes.length) return this.invalid();
      const byte = bytes[at]!;
      if (byte === QUOTE) {
        at = skipString(bytes, at);
        if (at < 0) return this.invalid();
        continue;
      }
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (depth === 0) {
          // The list's end (a brace here is not the outline): the last entry ends before it, and only `}` and
          // whitespace may follow.
          if (byte !== CLOSE_BRACKET) return this.invalid();
          starts[count] = start;
          ends[count] = trimEnd(bytes, start, at);
          count++;
          const closing = skipWhitespace(bytes, at + 1);
          if (bytes[closing] !== CLOSE_BRACE || skipWhitespace(bytes, closing + 1) !== bytes.length) return this.invalid();
          this.state = "ended";
          break;
        }
        depth--;
      } else if (byte === COMMA && depth === 0) {
        starts[count] = start;
        ends[count] = trimEnd(bytes, start, at);
        count++;
        start = skipWhitespace(bytes, at + 1);
        at = start;
        continue;
      }
      at++;
    }
    // A run ends right after an entry's comma (or at the list's end): nothing is open across runs.
    this.at = at;
    this.start = start;
    return { starts: starts.subarray(0, count), ends: ends.subarray(0, count) };
  }

  private invalid(): undefined {
    this.state = "invalid";
    return undefined;
  }
}

/** Where the list's first entry starts, past `{"services":[`; `undefined` when that is not how the bytes begin or the list is empty. */
function firstEntry(bytes: Buffer): number | undefined {
  let at = skipWhitespace(bytes, 0);
  if (bytes[at] !== OPEN_BRACE) return undefined;
  at = skipWhitespace(bytes, at + 1);
  if (!bytes.subarray(at, at + SERVICES_KEY.length).equals(SERVICES_KEY)) return undefined;
  at = skipWhitespace(bytes, at + SERVICES_KEY.length);
  if (bytes[at] !== COLON) return undefined;
  at = skipWhitespace(bytes, at + 1);
  if (bytes[at] !== OPEN_BRACKET) return undefined;
  at = skipWhitespace(bytes, at + 1);
  return bytes[at] === CLOSE_BRACKET ? undefined : at;
}

function trimEnd(bytes: Uint8Array, start: number, end: number): number {
  while (end > start && isWhitespace(bytes[end - 1]!)) end--;
  return end;
}
