/**
 * @module serve-banner
 * Where `kai serve`'s banner sends clients, and what it tells them about the node's certificate, so that its URLs open
 * and its `try:` command works as printed (docs/cli.md):
 * - A wildcard bind address (`--host 0.0.0.0` or `::`) is where the node listens, not an address a client connects
 *   to (`https://0.0.0.0:7070` fails the certificate's name check, and means nothing on another machine): the banner
 *   names a loopback URL instead, on TLS one the certificate covers (its loopback address or `localhost` when listed,
 *   else an address of this machine it lists, else its first DNS name).
 * - A certificate from a private CA whose file the node does not have (not self-signed, and `server.tls.caFile` is not
 *   the CA that signed it): clients need that CA's certificate all the same. The banner names the CA by its subject
 *   and puts a placeholder for its file in the `try:` command (`KAI_CA_FILE='<the CA that signed cert.pem>'`), which
 *   run unchanged fails naming `--ca-file`, rather than a command that fails on the certificate.
 * Read from the certificate file for a hint only: nothing here decides what is trusted.
 */
import { networkInterfaces } from "node:os";
import { certificateNames, commonNameOf } from "./certificate-names.js";
import { certificatesIn, certificateTrust, trustHint } from "./certificate-trust.js";
import { shownPath } from "./invocation.js";

/** Where clients connect: `url`, and the wildcard address the node is bound to when the URL is not that. */
export interface ClientEndpoint {
  url: string;
  /** `0.0.0.0` or `::` when the node listens on every interface (and `url` names a loopback or listed address). */
  bound?: string;
}

/** The addresses of this machine's interfaces, as a URL's host writes them (link-local IPv6 left out: it needs a zone). */
function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((entry) => !(entry.family === "IPv6" && entry.address.toLowerCase().startsWith("fe80:")))
    .map((entry) => (entry.family === "IPv6" ? `[${entry.address}]` : entry.address));
}

/**
 * The host a client on this machine uses for a node bound to every interface, covered by the certificate in `certFile`:
 * 127.0.0.1, `localhost`, on `::` also [::1] (Node's `::` socket takes IPv4 too), then an address of this machine the
 * certificate lists, then its first DNS name that is not a wildcard. Undefined when it lists none of these.
 */
function coveredHost(certFile: string, ipv6: boolean, local: string[]): string | undefined {
  let leaf;
  try {
    leaf = certificatesIn(certFile)[0];
  } catch {
    // Unreadable now (it was read at start): no hint.
  }
  if (!leaf) return undefined;
  const { dns, ips } = certificateNames(leaf.subjectAltName, commonNameOf(leaf.subject));
  if (ips.includes("127.0.0.1")) return "127.0.0.1";
  if (dns.some((name) => name.toLowerCase() === "localhost")) return "localhost";
  if (ipv6 && ips.includes("[::1]")) return "[::1]";
  const own = ips.find((ip) => local.includes(ip) && (ipv6 || !ip.startsWith("[")));
  if (own !== undefined) return own;
  return dns.find((name) => !name.includes("*"));
}

/**
 * The URL clients on this machine use for the node listening at `listeningUrl` (the server's `url`, which names the
 * bind address). Unchanged unless that address is a wildcard; then 127.0.0.1, or on TLS (`certFile`) a host the
 * certificate covers (127.0.0.1 when it covers none of them: the name check then fails, and the CLI's error says so).
 */
export function clientEndpoint(listeningUrl: string, certFile?: string, local: string[] = localAddresses()): ClientEndpoint {
  const url = new URL(listeningUrl);
  const ipv6 = url.hostname === "[::]";
  if (url.hostname !== "0.0.0.0" && !ipv6) return { url: listeningUrl };
  const bound = ipv6 ? "::" : "0.0.0.0";
  url.hostname = (certFile !== undefined ? coveredHost(certFile, ipv6, local) : undefined) ?? "127.0.0.1";
  return { url: `${url.protocol}//${url.host}`, bound };
}

/** What the banner says about the node's certificate, and the CA file its `try:` command names (or a placeholder). */
export interface TlsAdvice {
  lines: string[];
  /** A file of this node that holds the CA clients need, or `<the CA that signed …>` for the operator to fill in. */
  caFile?: string;
}

/** The banner's TLS advice for the certificate in `certFile`; `caFile`: the node's `server.tls.caFile`, if set. */
export function tlsAdvice(certFile: string, caFile: string | undefined, cwd: string = process.cwd()): TlsAdvice {
  const trust = certificateTrust(certFile, caFile);
  if (trust.kind !== "private") return { lines: trustHint(trust) };
  if (trust.caFile !== undefined) return { lines: trustHint(trust), caFile: trust.caFile };
  // A private CA this node has no file of: name it by its subject, and leave its file to the operator.
  const placeholder = `<the CA that signed ${shownPath(certFile, cwd)}>`;
  const issuer = trust.issuer;
  return {
    lines: [
      `  TLS:         the certificate is signed by ${issuer !== undefined ? `"${issuer}"` : "a CA"}, which clients do not trust by themselves: give them that CA's certificate (KAI_CA_FILE or --ca-file; the SDK's nodeTls); in the try command, its file in place of ${placeholder}`,
    ],
    caFile: placeholder,
  };
}
