/**
 * @module http/logged-path
 * The path a request line records. Most routes' paths are plain identifiers and are logged as sent (without the query
 * string), but some carry what must never reach a log: a share link's signed token (`GET /s/:token`: whoever holds it
 * downloads the file) or a vault secret's name (`/api/vault/secrets/*`: the vault's audit keeps names only as HMACs).
 * Such a route names those path parameters in `config.secretParams`, and its request line shows them as `[redacted]`
 * (`/s/[redacted]`); the route pattern stays in the line's `route`.
 *
 * A request that matched no route (a share link with a trailing slash, a method the vault does not serve, a path the
 * router refused) would otherwise be logged as sent: a path under a secret route's prefix is masked from its first
 * secret parameter on, so a mistyped link leaks no more than a valid one. The router keeps repeated slashes (`//s/…`,
 * from a base URL ending in `/`, matches no route) and decodes escapes before it matches: the prefix test allows any
 * number of slashes between segments and is made on the path as sent, with its ASCII escapes decoded, and with its dot
 * segments resolved as a client or a proxy in front would resolve them (`/./s/…`, `/x/../s/…`, `curl --path-as-is`).
 *
 * Each secret route's mask is built once, when the route is added (`onRoute`), and kept in its config: a request pays
 * only for lining its path up with the pattern.
 */
import { posix } from "node:path";
import type { RouteOptions } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * Path parameters whose values never reach a request line (`[redacted]` there): a credential in the path (a share
     * link's `token`), or a name the node keeps out of its logs (a vault secret's, the wildcard `*`).
     */
    secretParams?: readonly string[];
    /** Set by `SecretPaths.onRoute` for a route with `secretParams`, never by a route: how its paths are logged. */
    pathMask?: PathMask;
  }
}

export const REDACTED_SEGMENT = "[redacted]";

/** Path parameter names in one segment of a route pattern; `::` is find-my-way's escaped colon, not a parameter. */
function paramsIn(segment: string): string[] {
  if (segment === "*") return ["*"];
  return [...segment.matchAll(/(?<!:):(\w+)/g)].map((match) => match[1]!);
}

/** Whether a pattern segment holds one of the secret parameters. */
function isSecretSegment(segment: string, secret: ReadonlySet<string>): boolean {
  return paramsIn(segment).some((name) => secret.has(name));
}

/** A route pattern with its secret segments masked: what is logged when a path cannot be lined up with it. */
function maskedPattern(segments: readonly string[], secret: ReadonlySet<string>): string {
  return segments.map((segment) => (isSecretSegment(segment, secret) ? REDACTED_SEGMENT : segment)).join("/");
}

/**
 * How the paths of one route `pattern` whose `secret` parameters are masked are logged: each segment of the path lined
 * up with the pattern's, a secret one replaced; a secret wildcard takes the rest of the path with it. Built once per
 * route; `apply` walks the path without splitting it.
 */
export class PathMask {
  /** Per segment of the pattern: whether it is secret. */
  private readonly secret: readonly boolean[];
  /** The index of the pattern's wildcard segment (`*`, always its last), or -1. */
  private readonly wildcard: number;
  /** The pattern with its secret segments masked. */
  private readonly masked: string;

  constructor(pattern: string, secret: ReadonlySet<string>) {
    const segments = pattern.split("/");
    this.secret = segments.map((segment) => isSecretSegment(segment, secret));
    this.wildcard = segments.indexOf("*");
    this.masked = maskedPattern(segments, secret);
  }

  /** `path` (the request's, without its query string) as a request line shows it. */
  apply(path: string): string {
    let out = "";
    // Where the path's segment `index` starts; -1 once the path has no more segments.
    let start = 0;
    for (let index = 0; index < this.secret.length; index++) {
      if (index > 0) out += "/";
      if (index === this.wildcard) return out + (this.secret[index] ? REDACTED_SEGMENT : start === -1 ? "" : path.slice(start));
      // Fewer segments than the pattern has: the pattern is safe.
      if (start === -1) return this.masked;
      const end = path.indexOf("/", start);
      out += this.secret[index] ? REDACTED_SEGMENT : path.slice(start, end === -1 ? path.length : end);
      start = end === -1 ? -1 : end + 1;
    }
    // More segments than the pattern has (a router option that ignores a trailing slash, say): the pattern is safe.
    return start === -1 ? out : this.masked;
  }
}

/** `path` as a request line shows it for a route `pattern` whose `secret` parameters are masked (see `PathMask`). */
export function maskSecretParams(pattern: string, path: string, secret: ReadonlySet<string>): string {
  return new PathMask(pattern, secret).apply(path);
}

/** A secret route's prefix up to its first secret segment, as a test of a raw path. */
interface SecretPrefix {
  test: RegExp;
  logged: string;
}

/** The secret routes of one app: checks each route as it is added, masks the paths of requests that matched none. */
export class SecretPaths {
  private readonly prefixes: SecretPrefix[] = [];

  /**
   * Fastify's `onRoute`: a route naming a secret parameter its pattern lacks is refused (a typo would leak it); a
   * secret route gets its `pathMask` and adds its prefix to those an unmatched path is tested against.
   */
  readonly onRoute = (route: RouteOptions): void => {
    const named = route.config?.secretParams;
    if (named === undefined || named.length === 0) return;
    const secret = new Set(named);
    const segments = route.url.split("/");
    const present = new Set(segments.flatMap(paramsIn));
    const missing = named.filter((name) => !present.has(name));
    if (missing.length > 0) throw new Error(`route ${route.url}: config.secretParams names ${missing.join(", ")}, which its path does not have`);
    // A config of its own: one object may be shared by several routes' options.
    route.config = { ...route.config, pathMask: new PathMask(route.url, secret) };
    const first = segments.findIndex((segment) => isSecretSegment(segment, secret));
    const before = segments.slice(0, first);
    // Literal segments as they are, a non-secret parameter before the secret one as any one segment; any number of
    // slashes between segments (the router keeps repeated ones, and `//s/…` matches no route).
    const source = before.map((segment) => (paramsIn(segment).length > 0 ? "[^/]*" : escapeRegExp(segment))).join("/+");
    const logged = `${maskedPattern(before, secret)}/${REDACTED_SEGMENT}`;
    if (!this.prefixes.some((prefix) => prefix.logged === logged)) this.prefixes.push({ test: new RegExp(`^${source}/`, "i"), logged });
  };

  /** The path to log for a request that matched a route (its `config`): masked by the route's `pathMask`, if any. */
  matchedPath(path: string, config: { pathMask?: PathMask } | undefined): string {
    return config?.pathMask?.apply(path) ?? path;
  }

  /** The path to log for a request that matched no route: masked when it is under a secret route's prefix. */
  unmatchedPath(path: string): string {
    if (this.prefixes.length === 0) return path;
    // The router decodes a path before it matches it: `/s%2F…` must be judged as `/s/…`.
    const decoded = decodeAscii(path);
    // Dot segments resolved: a proxy in front (or the client at the other end of a redirect) may resolve them and
    // reach the secret route with the same token.
    const resolved = decoded.includes(".") ? posix.normalize(decoded) : decoded;
    for (const prefix of this.prefixes) {
      if (prefix.test.test(path) || prefix.test.test(decoded) || prefix.test.test(resolved)) return prefix.logged;
    }
    return path;
  }
}

/**
 * `path` with its escapes of ASCII characters decoded, each on its own: a malformed escape elsewhere in the path (which
 * `decodeURIComponent` refuses whole) leaves the others decoded. What the prefix test needs: its segments are ASCII.
 */
function decodeAscii(path: string): string {
  return path.includes("%") ? path.replace(/%[0-7][0-9a-f]/gi, (escape) => String.fromCharCode(Number.parseInt(escape.slice(1), 16))) : path;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
