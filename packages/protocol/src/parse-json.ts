/**
 * @module parse-json
 * The one place that turns untrusted text into JSON. Returns a result instead of throwing, so that
 * callers must handle bad input, and strips `__proto__` keys so parsed data cannot pollute prototypes.
 */
export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJson(text: string): JsonResult {
  try {
    const value: unknown = JSON.parse(text, (key, val: unknown) => (key === "__proto__" ? undefined : val));
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : "invalid JSON" };
  }
}
