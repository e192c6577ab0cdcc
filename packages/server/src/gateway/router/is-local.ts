/**
 * @module gateway/router/is-local
 * Whether a service runs "locally" for the `preferLocal` routing hint: the record says so (`isLocal`,
 * or `metadata.isLocal`), or its URL's host is a loopback, private (RFC 1918 / ULA), link-local or
 * `localhost`-style name. Uses Node's own `net.BlockList` for the address ranges.
 */
import { BlockList, isIP } from "node:net";
import type { ServiceRecord } from "@kai/protocol";

const PRIVATE = new BlockList();
PRIVATE.addSubnet("127.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("10.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("172.16.0.0", 12, "ipv4");
PRIVATE.addSubnet("192.168.0.0", 16, "ipv4");
PRIVATE.addSubnet("169.254.0.0", 16, "ipv4");
PRIVATE.addAddress("::1", "ipv6");
PRIVATE.addSubnet("fc00::", 7, "ipv6");
PRIVATE.addSubnet("fe80::", 10, "ipv6");

/** True when `host` (a URL hostname, IPv6 possibly in brackets) is a loopback/private address or a local name. */
export function isLocalHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(bare);
  if (family === 4) return PRIVATE.check(bare, "ipv4");
  if (family === 6) {
    // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged by its IPv4 part.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
    return mapped ? PRIVATE.check(mapped[1]!, "ipv4") : PRIVATE.check(bare, "ipv6");
  }
  return bare === "localhost" || bare.endsWith(".localhost") || bare.endsWith(".local") || bare.endsWith(".internal") || bare.endsWith(".lan");
}

/**
 * Answers per URL, remembered: candidate selection asks for every candidate on every request, and parsing
 * the URL and checking the block list showed up at ~2 % of the gateway's CPU. Bounded: cleared when full.
 */
const byUrl = new Map<string, boolean>();
const MAX_REMEMBERED = 10_000;

function isLocalUrl(url: string): boolean {
  let local = byUrl.get(url);
  if (local !== undefined) return local;
  try {
    local = isLocalHost(new URL(url).hostname);
  } catch {
    local = false;
  }
  if (byUrl.size >= MAX_REMEMBERED) byUrl.clear();
  byUrl.set(url, local);
  return local;
}

/** The record's own word wins (`isLocal`, then `metadata.isLocal`); otherwise its URL decides. */
export function isLocalService(record: Pick<ServiceRecord, "isLocal" | "metadata" | "url">): boolean {
  if (record.isLocal !== undefined) return record.isLocal;
  const declared = record.metadata.isLocal;
  if (typeof declared === "boolean") return declared;
  return record.url ? isLocalUrl(record.url) : false;
}
