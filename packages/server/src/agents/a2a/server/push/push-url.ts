/**
 * @module agents/a2a/server/push/push-url
 * Where the node may POST a task's push notifications. A push URL is chosen by the caller and fetched by the node
 * from inside its network, so it is an SSRF vector (a2aproject/a2a-python#1164): only `http:`/`https:`, no
 * user-info (credentials go in `authentication`), and — unless `agents.a2a.push.allowPrivate` — never a loopback,
 * private, link-local, shared, multicast or otherwise non-public address. Checked twice:
 * - when the config is created (`checkPushUrl`: an IP literal is judged as it is, a name by every address it resolves to);
 * - at every send (`guardedLookup`, the `lookup` of the request): the address the socket connects to is the one
 *   judged, so a name that resolved to a public address at create time and to 127.0.0.1 now (DNS rebinding) is refused.
 * Redirects are never followed (push-sender.ts), so a public receiver cannot bounce the node inward either.
 * Node's own `net.BlockList` holds the ranges (IANA special-purpose registries, v4 and v6).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Longer URLs are refused outright (as browsers and proxies do past a few KiB). */
export const MAX_PUSH_URL_CHARS = 2048;

const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT (shared)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata lives here)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) NOT_PUBLIC.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed by some)
  ["ff00::", 8], // multicast
] as const) NOT_PUBLIC.addSubnet(net, prefix, "ipv6");

/** Why a URL or an address is refused; the message is safe to show the caller. */
export class PushUrlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushUrlRefused";
  }
}

/** The eight 16-bit groups of a valid IPv6 literal (`::` expanded, a dotted IPv4 tail as two groups). */
function ipv6Groups(address: string): number[] {
  let text = address.split("%")[0]!;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((group) => parseInt(group, 16));
}

/** True when `address` (an IP literal) is not a public unicast address. IPv4 inside IPv6 (mapped, NAT64) is judged as IPv4. */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(bare);
  if (family === 4) return NOT_PUBLIC.check(bare, "ipv4");
  if (family !== 6) return true;
  const groups = ipv6Groups(bare);
  // IPv4-mapped (::ffff:0:0/96) and the well-known NAT64 prefix (64:ff9b::/96) reach an IPv4 address: judge that.
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  if (mapped || nat64) {
    const [high, low] = [groups[6]!, groups[7]!];
    return NOT_PUBLIC.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4");
  }
  return NOT_PUBLIC.check(bare, "ipv6");
}

export interface PushUrlPolicy {
  /** `agents.a2a.push.allowPrivate`: receivers on loopback/private networks are allowed (tests, a closed network). */
  allowPrivate: boolean;
  /** Resolves a name to all its addresses (tests may pass their own); default: the system resolver. */
  resolve?: (host: string) => Promise<string[]>;
}

const systemResolve = (host: string): Promise<string[]> =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses.map((entry) => entry.address)))));

/** The URL's syntax: http(s), a host, no user-info, not too long. Returns the parsed URL. */
export function parsePushUrl(raw: string): URL {
  if (raw.length === 0) throw new PushUrlRefused("the push notification config needs a url");
  if (raw.length > MAX_PUSH_URL_CHARS) throw new PushUrlRefused(`the push url is longer than ${MAX_PUSH_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PushUrlRefused("the push url is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new PushUrlRefused("the push url must be http or https");
  if (url.username || url.password) throw new PushUrlRefused("the push url must not carry credentials: give them in authentication");
  if (!url.hostname) throw new PushUrlRefused("the push url has no host");
  return url;
}

/** The checks of a new config: syntax, then every address the host stands for (unless private ones are allowed). */
export async function checkPushUrl(raw: string, policy: PushUrlPolicy): Promise<URL> {
  const url = parsePushUrl(raw);
  if (policy.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    if (isNonPublicAddress(host)) throw new PushUrlRefused("the push url's address is not public (loopback, private or link-local addresses are refused)");
    return url;
  }
  let addresses: string[];
  try {
    addresses = await (policy.resolve ?? systemResolve)(host);
  } catch {
    throw new PushUrlRefused("the push url's host does not resolve");
  }
  if (addresses.length === 0) throw new PushUrlRefused("the push url's host does not resolve");
  if (addresses.some(isNonPublicAddress)) throw new PushUrlRefused("the push url's host resolves to an address that is not public (loopback, private or link-local addresses are refused)");
  return url;
}

/**
 * The `lookup` of a push request: resolves as the system does, then refuses (ERR_PUSH_ADDRESS) when an address the
 * socket may use is not public. With `allowPrivate` it is the plain system lookup.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const refused = !allowPrivate && addresses.some((entry) => isNonPublicAddress(entry.address));
      if (refused || addresses.length === 0) {
        const failure: NodeJS.ErrnoException = new PushUrlRefused("the push url's host resolves to an address that is not public");
        failure.code = "ERR_PUSH_ADDRESS";
        return callback(failure, "", 0);
      }
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}
