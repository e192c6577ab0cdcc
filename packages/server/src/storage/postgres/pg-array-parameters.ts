/**
 * @module storage/postgres/pg-array-parameters
 * The array parameters of the batch statement (pg-service-plan.ts): a `text[]` written as PostgreSQL's array literal
 * by one `JSON.stringify` of the whole array instead of by the `pg` driver; a number array by one join.
 *
 * Why: a batch of registrations sends every record's JSON document twice (the event and the row), and the driver
 * escapes each element of an array parameter with two regular-expression replaces and builds the literal by string
 * concatenation: with ~700-byte documents full of `"` that was ~5 µs of the server's event loop per document, about a
 * twentieth of a registration's CPU (issue 13). `JSON.stringify` of an array of strings writes exactly the array
 * literal's quoted elements (`"` and `\` escaped by a backslash, nothing else changed) for every string that holds no
 * control character and no UTF-16 surrogate, which are the only characters JSON escapes otherwise (as `\n`, `\uXXXX`:
 * the array literal would read those as `n`, `uXXXX`): control characters are written back as themselves
 * (`rawControls`); an array holding a NUL or a surrogate is handed to the driver as it was. `null` is written
 * unquoted, which PostgreSQL reads as NULL (any case), as the driver's `NULL`.
 */

/** A character JSON.stringify would write as an escape sequence other than `\"` and `\\` (or a surrogate, to be safe). */
// eslint-disable-next-line no-control-regex
const JSON_ESCAPED_OTHERWISE = /[\u0000-\u001f\ud800-\udfff]/;
/** What only the driver's encoding carries (NUL, which PostgreSQL's text refuses either way, and surrogates). */
// eslint-disable-next-line no-control-regex
const DRIVER_ONLY = /[\u0000\ud800-\udfff]/;
/**
 * JSON's escapes of control characters, and escaped backslashes (matched first, left to right, so that the `u001f` of
 * an escaped backslash followed by the text `u001f` is never read as an escape).
 */
const CONTROL_ESCAPE = /\\\\|\\u00([01][0-9a-f])|\\([bfnrt])/g;
/** A control character other than the search column's separator (U+001F). */
// eslint-disable-next-line no-control-regex
const OTHER_CONTROL = /[\u0001-\u001e]/;
const SHORT_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/**
 * `json` with each control character's escape written back as the character: inside a quoted element of an array
 * literal every character but `"` and `\` stands for itself. The search column holds one between its fields
 * (U+001F), so every batch's search array needs this; it used to go to the driver (two regular-expression replaces
 * and a string concatenation per element, and ~2.7 KB of garbage per registration).
 */
function rawControls(json: string): string {
  return json.replace(CONTROL_ESCAPE, (match: string, hex: string | undefined, short: string | undefined) =>
    hex !== undefined ? String.fromCharCode(Number.parseInt(hex, 16)) : short !== undefined ? SHORT_ESCAPES[short]! : match,
  );
}

/**
 * The array literal of `values` (`{"a","b",NULL}`), or the array itself when an element needs the driver's encoding
 * (a NUL or a UTF-16 surrogate: the driver then encodes it as before). Either way the parameter means the same `text[]`.
 */
export function textArrayParameter(values: ReadonlyArray<string | null>): string | ReadonlyArray<string | null> {
  let controls = false;
  let otherControls = false;
  for (const value of values) {
    if (value === null || !JSON_ESCAPED_OTHERWISE.test(value)) continue;
    if (DRIVER_ONLY.test(value)) return values;
    controls = true;
    if (!otherControls && OTHER_CONTROL.test(value)) otherControls = true;
  }
  const json = JSON.stringify(values);
  if (!controls) return `{${json.slice(1, -1)}}`;
  // The search column's case: U+001F the only control character and no backslash in any element, so every `\u001f`
  // in the JSON is that character's escape (no escaped backslash can precede it): a plain replace, no callback.
  const plain = !otherControls && !values.some((value) => value !== null && value.includes("\\"));
  return `{${(plain ? json.replaceAll("\\u001f", "\u001f") : rawControls(json)).slice(1, -1)}}`;
}

/**
 * A `bigint[]` or `integer[]` parameter (`{1,2,NULL}`), written with one join: the driver quotes and escapes every
 * element with two regular-expression replaces (~2.5 KB of garbage per registration over a batch's number columns).
 */
export function numberArrayParameter(values: ReadonlyArray<number | null>): string {
  return `{${values.map((value) => (value === null ? "NULL" : String(value))).join(",")}}`;
}

/** A `boolean[]` parameter (`{t,f}`). */
export function booleanArrayParameter(values: readonly boolean[]): string {
  return `{${values.map((value) => (value ? "t" : "f")).join(",")}}`;
}
