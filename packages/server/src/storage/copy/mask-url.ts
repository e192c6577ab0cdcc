/**
 * @module storage/copy/mask-url
 * A database URL as it may be shown: the password replaced by `***`. `kai storage copy` takes the target
 * as a URL that usually carries a password; every message, progress line and report names the target
 * through this, so the password never reaches a terminal, a log or a CI transcript.
 */

/** A URL with an authority part (`scheme://…`): anything else may hold a password where no parser looks. */
const WITH_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `postgres://kai:***@db:5432/kai`; text that is not such a URL is shown as `<unparseable URL>` (it may hold the password anywhere). */
export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    if (!WITH_AUTHORITY.test(url)) return "<unparseable URL>";
    parsed = new URL(url);
  } catch {
    return "<unparseable URL>";
  }
  if (parsed.password !== "") parsed.password = "***";
  // A password may also come as a query parameter (`?password=…`), which libpq-style URLs accept.
  for (const key of [...parsed.searchParams.keys()]) {
    if (key.toLowerCase() === "password") parsed.searchParams.set(key, "***");
  }
  return parsed.toString();
}

/**
 * The forms in which `url`'s password could appear in a message (as written, and percent-decoded), for
 * scrubbing text this code did not write (a driver's error message). Empty when the URL has none.
 */
export function passwordForms(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const raw = [parsed.password, ...[...parsed.searchParams.entries()].filter(([key]) => key.toLowerCase() === "password").map(([, value]) => value)];
  const forms = new Set<string>();
  for (const value of raw) {
    if (value === "") continue;
    forms.add(value);
    try {
      forms.add(decodeURIComponent(value));
    } catch {
      // Not valid percent-encoding: the raw form is what could be echoed.
    }
    forms.add(encodeURIComponent(value));
  }
  return [...forms].filter((form) => form.length > 0);
}

/** `text` with every form of `url`'s password replaced by `***`. */
export function scrubPassword(text: string, url: string): string {
  let out = text;
  // Longest first, so a form that contains another is replaced whole.
  for (const form of passwordForms(url).sort((a, b) => b.length - a.length)) out = out.split(form).join("***");
  return out;
}
