/**
 * @module text-place
 * Where an offset is in a document a person gave, as the line and column an editor shows: a parser's position in a
 * 60 MB manifest (JSON.parse's `at position 3724342`, the YAML library's `pos`) is no help to a person. Shared by the
 * CLI (`kai services apply -f`, `input-file.ts`) and the web app's manifest import, so both name the same place.
 */

export interface TextPlace {
  /** From 1. */
  line: number;
  /** From 1, in characters (a character beyond U+FFFF counts once). */
  column: number;
}

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** The line and column of `offset` (a UTF-16 index, as JSON.parse's position and the YAML library's offsets are). */
export function placeOf(text: string, offset: number): TextPlace {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let newline = text.indexOf("\n"); newline !== -1 && newline < at; newline = text.indexOf("\n", newline + 1)) {
    line++;
    lineStart = newline + 1;
  }
  // Characters, not UTF-16 units: a pair of surrogates is one. Counted by a native search, not a loop over each
  // character (a minified manifest is one line of 50 MB: a second, looped).
  const before = text.slice(lineStart, at);
  return { line, column: before.length - (before.match(SURROGATE_PAIR)?.length ?? 0) + 1 };
}
