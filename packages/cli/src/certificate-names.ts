/**
 * @module certificate-names
 * The host names and addresses a TLS certificate is made for, as a client checks them: its subjectAltName's DNS names
 * and IP addresses, else (no DNS name listed) its subject's common name, as Node's `checkServerIdentity` falls back to.
 * Read for advice only, never to decide what is trusted: `kai serve`'s banner picks a URL its certificate covers
 * (serve-banner.ts), and `kai peer discover --add` names the names a peer's certificate lists when the announced
 * address is not one of them.
 */
import { isIP } from "node:net";
import { parseJson } from "@kai/protocol";

export interface CertificateNames {
  /** DNS names, as listed (a wildcard such as `*.example.com` included). */
  dns: string[];
  /** IP addresses in a URL's form: `127.0.0.1`, `[::1]` (Node lists IPv6 addresses written out in full). */
  ips: string[];
}

/** One entry of Node's subjectAltName text: `DNS:name`, `IP Address:addr`, a value with a comma JSON-quoted. */
const SAN_ENTRY = /(?<=^|, )(DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/** An IP address as a URL's host writes it, or undefined for anything else. */
function urlHostOf(address: string): string | undefined {
  const version = isIP(address);
  if (version === 0) return undefined;
  try {
    return new URL(`http://${version === 6 ? `[${address}]` : address}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * The names in Node's `subjectAltName` text (X509Certificate's, or a peer certificate's `subjectaltname`) and its
 * subject's common name (`CN=…` of X509Certificate's `subject`, or a peer certificate's `subject.CN`).
 */
export function certificateNames(subjectAltName: string | undefined, commonName?: string): CertificateNames {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const [, kind, raw] of (subjectAltName ?? "").matchAll(SAN_ENTRY)) {
    let value = (raw ?? "").trim();
    if (value.startsWith('"')) {
      // Node quotes a value with a comma or quote in it, as a JSON string.
      const parsed = parseJson(value);
      if (!parsed.ok || typeof parsed.value !== "string") continue;
      value = parsed.value;
    }
    if (kind === "DNS" && value !== "") dns.push(value);
    else if (kind === "IP Address") {
      const host = urlHostOf(value);
      if (host !== undefined) ips.push(host);
    }
  }
  // As Node checks a host name: the common name only when no DNS name is listed.
  if (dns.length === 0 && commonName !== undefined && /^[\w*.-]+$/.test(commonName) && isIP(commonName) === 0) dns.push(commonName);
  return { dns, ips };
}

/** The common name in X509Certificate's `subject` text (one `KEY=value` per line). */
export function commonNameOf(subject: string): string | undefined {
  return /^CN=(.*)$/m.exec(subject)?.[1];
}

/** The names for a person: `DNS:a.example, IP:10.0.0.2`. */
export function describeNames(names: CertificateNames): string {
  return [...names.dns.map((name) => `DNS:${name}`), ...names.ips.map((ip) => `IP:${ip.replace(/^\[(.*)\]$/, "$1")}`)].join(", ");
}
