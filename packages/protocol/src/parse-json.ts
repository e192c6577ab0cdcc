/**
 * @module parse-json
 * The one place that turns untrusted text into JSON. Returns a result instead of throwing, so that
 * callers must handle bad input; strips `__proto__` keys so parsed data cannot pollute prototypes; and
 * refuses nesting deeper than `maxDepth`, because recursive validators (and anything else that walks
 * the value) would otherwise overflow the stack on a small, deeply nested body.
 */
export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Deeper than any real service record needs; far below what a recursive walk can survive. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * One walk over the parsed value: deletes own `__proto__` keys and tells whether nesting exceeds `maxDepth`.
 * Iterative on purpose: a recursive walk would itself overflow on the inputs it is meant to refuse.
 * (Done here rather than with a JSON.parse reviver, which makes parsing several times slower: measured on
 * a 600-byte service record, the reviver was the largest cost of parsing a registration.)
 */
function sanitize(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > maxDepth) return false;
    if (Array.isArray(current)) {
      for (const child of current) if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
      continue;
    }
    const record = current as Record<string, unknown>;
    // JSON.parse makes "__proto__" an own data property (no pollution yet); removing it keeps later
    // spreads and merges of this object from ever setting a prototype.
    if (Object.hasOwn(record, "__proto__")) delete record["__proto__"];
    for (const key in record) {
      const child = record[key];
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return true;
}

export function parseJson(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): JsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : "invalid JSON" };
  }
  if (!sanitize(value, maxDepth)) return { ok: false, error: `JSON nested deeper than ${maxDepth} levels` };
  return { ok: true, value };
}
