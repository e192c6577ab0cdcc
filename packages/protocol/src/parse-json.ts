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

function depthExceeds(value: unknown, maxDepth: number): boolean {
  // Iterative on purpose: a recursive walk would itself overflow on the inputs it is meant to refuse.
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

export function parseJson(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): JsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text, (key, val: unknown) => (key === "__proto__" ? undefined : val));
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : "invalid JSON" };
  }
  if (depthExceeds(value, maxDepth)) return { ok: false, error: `JSON nested deeper than ${maxDepth} levels` };
  return { ok: true, value };
}
