/**
 * @module storage/postgres/pg-service-text-array
 * A `text[]` parameter of the batch statement (pg-service-plan.ts), written as PostgreSQL's array literal by one
 * `JSON.stringify` of the whole array instead of by the `pg` driver.
 *
 * Why: a batch of registrations sends every record's JSON document twice (the event and the row), and the driver
 * escapes each element of an array parameter with two regular-expression replaces and builds the literal by string
 * concatenation: with ~700-byte documents full of `"` that was ~5 µs of the server's event loop per document, about a
 * twentieth of a registration's CPU (issue 13). `JSON.stringify` of an array of strings writes exactly the array
 * literal's quoted elements (`"` and `\` escaped by a backslash, nothing else changed) for every string that holds no
 * control character and no UTF-16 surrogate, which are the only characters JSON escapes otherwise (as `\n`, `\uXXXX`:
 * the array literal would read those as `n`, `uXXXX`). An array holding such a string is handed to the driver as it
 * was. `null` is written unquoted, which PostgreSQL reads as NULL (any case), as the driver's `NULL`.
 */

/** A character JSON.stringify would write as an escape sequence other than `\"` and `\\` (or a surrogate, to be safe). */
// eslint-disable-next-line no-control-regex
const JSON_ESCAPED_OTHERWISE = /[\u0000-\u001f\ud800-\udfff]/;

/**
 * The array literal of `values` (`{"a","b",NULL}`), or the array itself when an element needs the driver's encoding
 * (the driver then encodes it as before). Either way the parameter means the same `text[]`.
 */
export function textArrayParameter(values: ReadonlyArray<string | null>): string | ReadonlyArray<string | null> {
  for (const value of values) if (value !== null && JSON_ESCAPED_OTHERWISE.test(value)) return values;
  const json = JSON.stringify(values);
  return `{${json.slice(1, -1)}}`;
}
