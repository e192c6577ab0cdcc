/**
 * @module auth/sso/return-path
 * Where a browser lands after signing in: only a path on this server. `?return=` arrives from anyone (a link in a
 * mail, a page of another site), so anything that a browser could read as another origin — `//evil.example`,
 * `/\evil.example`, `https://…`, a control character, an encoded slash that a proxy might decode — is refused
 * rather than "fixed" (no open redirect, OWASP Unvalidated Redirects).
 */

/** The landing path when none is given. */
export const DEFAULT_RETURN_PATH = "/";

/** The same path when it is a safe same-origin path (path, query, fragment kept), otherwise null. */
export function safeReturnPath(value: string | undefined): string | null {
  if (value === undefined || value === "") return DEFAULT_RETURN_PATH;
  if (value.length > 2048) return null;
  // One leading slash, then not a second slash or backslash (browsers read `//host` and `/\host` as another origin).
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return null;
  // Backslashes, whitespace and control characters have no place in a path and are how filters are tricked.
  if (/[\\\s]/.test(value) || [...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) return null;
  // Encoded slashes and backslashes could turn into the above after one more decoding along the way.
  if (/%(2f|5c)/i.test(value)) return null;
  // Finally the browser's own view: resolved against an origin, it must stay on that origin.
  const base = "http://kai.invalid";
  let resolved: URL;
  try {
    resolved = new URL(value, base);
  } catch {
    return null;
  }
  if (resolved.origin !== base) return null;
  return value;
}

/**
 * The CLI's loopback redirect (RFC 8252 §7.3): `http` to 127.0.0.1, [::1] or localhost with an explicit port, no
 * credentials, no fragment. Anything else is refused: an exchange code must never travel to another machine.
 * Returns the normalised URL, or null.
 */
export function safeLoopbackRedirect(value: string | undefined): string | null {
  if (value === undefined || value.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" || url.port === "" || url.username !== "" || url.password !== "" || url.hash !== "") return null;
  if (url.hostname !== "127.0.0.1" && url.hostname !== "[::1]" && url.hostname !== "localhost") return null;
  return url.href;
}
