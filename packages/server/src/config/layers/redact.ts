/**
 * @module config/layers/redact
 * Secrets out of configuration values shown to anyone (`GET /api/config`, `explain`, the audit of runtime changes).
 * Redaction is by shape, not by a list of today's settings, so a secret added to the config later is hidden without
 * anyone remembering this file:
 * - a string under a key that names a secret (password, passphrase, secret, token, api key, private key, access key,
 *   credentials) is replaced;
 * - a URL's password (`postgres://user:pw@host`, `redis://:pw@host`) and any query parameter named like a secret
 *   (or like a key or signature: `?key=`, `?sig=`) are replaced, the rest of the URL (host, database) stays readable.
 * File paths (`keyFile`, `certFile`, `keyDir`) and references to secrets (SSO's `clientSecret: {vault: name}`) are
 * not secrets themselves and stay.
 */
import { REDACTED_VALUE } from "@kai/protocol";
import { setAt, getAt, splitKey } from "./key-paths.js";

/** Key names whose string values are secrets. */
const SECRET_KEY = /(password|passphrase|secret|token|api[-_]?key|private[-_]?key|access[-_]?key|credentials?)$/i;

/**
 * Query parameters that carry a credential though their names do not say "secret": an API key given as `?key=`
 * (Google's APIs, many collectors), a signature (`sig`, `signature`, S3's and GCS's presigned `X-Amz-Signature`,
 * `X-Goog-Signature`), `auth`, `code`. A collector's endpoint such as `https://otlp.example/v1/traces?key=…` showed
 * its key in `kai config get` before.
 */
const SECRET_QUERY = /^(key|sig|signature|auth|authorization|code|x-amz-signature|x-goog-signature)$/i;

/** A URL with its password and secret-named query parameters replaced; `undefined` when nothing was secret. */
function redactUrl(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  let changed = false;
  if (url.password !== "") {
    url.password = "REDACTED";
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_KEY.test(name) || SECRET_QUERY.test(name)) {
      url.searchParams.set(name, "REDACTED");
      changed = true;
    }
  }
  return changed ? url.toString().replaceAll("REDACTED", REDACTED_VALUE) : undefined;
}

/** A deep copy of `value` with secrets replaced; each replaced value's dotted path is pushed to `paths`. */
export function redactConfig(value: unknown, paths: string[] = [], path = ""): unknown {
  if (Array.isArray(value)) return value.map((item, index) => redactConfig(item, paths, `${path}.${index}`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const here = path === "" ? key : `${path}.${key}`;
      if (typeof item === "string" && SECRET_KEY.test(key)) {
        out[key] = REDACTED_VALUE;
        paths.push(here);
      } else {
        out[key] = redactConfig(item, paths, here);
      }
    }
    return out;
  }
  if (typeof value === "string") {
    const url = redactUrl(value);
    if (url !== undefined) {
      paths.push(path);
      return url;
    }
  }
  return value;
}

/** `value` as it would be shown at dotted `key` (the key's own name counts, as in a whole configuration). */
export function redactAt(key: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  const path = splitKey(key);
  const holder: Record<string, unknown> = {};
  setAt(holder, path, value);
  return getAt(redactConfig(holder), path);
}
