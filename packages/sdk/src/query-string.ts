/**
 * @module query-string
 * Serialises discovery filters for `GET /api/services`. Lists become repeated keys (`tag=a&tag=b`),
 * which is how the server reads "all of these must match"; absent values are left out.
 */

function appendScalar(params: URLSearchParams, key: string, value: unknown): void {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") params.append(key, String(value));
  else if (value !== undefined && value !== null) throw new TypeError(`query parameter ${key} must be a string, number, boolean or a list of them`);
}

/**
 * Builds `?a=1&tag=x&tag=y` (or an empty string) from a flat object of scalars and lists. Takes `unknown`
 * values because the protocol's filter input types are loose (the schemas accept a single value or a list).
 */
export function toQueryString(query: object | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const item of value as unknown[]) appendScalar(params, key, item);
    else appendScalar(params, key, value);
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}
