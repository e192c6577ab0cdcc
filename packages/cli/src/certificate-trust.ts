/**
 * @module certificate-trust
 * Whether clients on this machine will trust the certificate a node serves, for `kai serve`'s banner: a node on a
 * certificate from a private CA (or a self-signed one) is reached only by clients given that CA (`KAI_CA_FILE`,
 * `--ca-file`, the SDK's `nodeTls`), and the banner's "try:" command would otherwise fail as printed. Node's own X.509
 * support is enough for this: the chain in the certificate file is followed to its last certificate, which is either
 * issued by one of Node's root certificates or not. (A heuristic for a hint: nothing here decides what is trusted.)
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { X509Certificate } from "node:crypto";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

let roots: X509Certificate[] | undefined;

/** Node's bundled root certificates, parsed once (only when a TLS node starts). */
function rootList(): X509Certificate[] {
  return (roots ??= rootCertificates.map((pem) => new X509Certificate(pem)));
}

const issuedBy = (certificate: X509Certificate, issuer: X509Certificate) => certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);

export type CertificateTrust =
  /** Chains to a root certificate Node ships: any client trusts it. */
  | { kind: "public" }
  /**
   * Not from a CA Node ships (self-signed, or a private CA): clients need the CA. `caFile` is a file of this node that
   * holds it, when one does (the certificate file itself when self-signed, or `server.tls.caFile` when that CA signed
   * it, as in a mesh with one CA).
   */
  | {
      kind: "private";
      caFile?: string;
      /** The subject of the CA that signed the top of the chain (`O=Example, CN=Example CA`), to name it by. */
      issuer?: string;
    }
  /** The file could not be read or parsed (the server started, so this is rare): no hint. */
  | { kind: "unknown" };

/** The certificates of a PEM file, the node's own first (throws when it cannot be read or parsed). */
export function certificatesIn(file: string): X509Certificate[] {
  return (readFileSync(file, "utf8").match(PEM_CERTIFICATE) ?? []).map((pem) => new X509Certificate(pem));
}

/** How clients will see the certificate (chain) in `certFile`; `caFile`: the node's `server.tls.caFile`, if set. */
export function certificateTrust(certFile: string, caFile?: string): CertificateTrust {
  let chain: X509Certificate[];
  try {
    chain = certificatesIn(certFile);
  } catch {
    return { kind: "unknown" };
  }
  const leaf = chain[0];
  if (!leaf) return { kind: "unknown" };
  // Follow the chain as the file gives it, as far as each certificate issued the one before.
  let top = leaf;
  for (const next of chain.slice(1)) {
    if (!issuedBy(top, next)) break;
    top = next;
  }
  const anchors = (list: X509Certificate[]) => list.some((root) => root.fingerprint256 === top.fingerprint256 || issuedBy(top, root));
  if (anchors(rootList())) return { kind: "public" };
  // Self-signed, or the file carries its private root: the file itself is the CA clients need.
  if (issuedBy(top, top)) return { kind: "private", caFile: certFile };
  if (caFile !== undefined) {
    try {
      if (anchors(certificatesIn(caFile))) return { kind: "private", caFile };
    } catch {
      // Unreadable: the hint names no file.
    }
  }
  const issuer = top.issuer.split("\n").filter(Boolean).join(", ");
  return issuer === "" ? { kind: "private" } : { kind: "private", issuer };
}

/** The banner's line about a certificate clients will not trust by themselves (none for a public one). */
export function trustHint(trust: CertificateTrust): string[] {
  if (trust.kind !== "private") return [];
  const ca = trust.caFile ?? "the CA that signed it";
  return [`  TLS:         the certificate is not from a CA clients trust by themselves: give them ${ca} (KAI_CA_FILE or --ca-file; the SDK's nodeTls)`];
}

/**
 * The banner's line for a node that asks every client for a certificate (`server.tls.clientCertificates: all`): the
 * "try:" command cannot work without one, and the CLI's error would only say the connection was refused.
 */
export function clientCertificateHint(mode: "off" | "peers" | "all", caFile: string | undefined): string[] {
  if (mode !== "all") return [];
  return [`  clients:     every client needs a certificate signed by ${caFile ?? "server.tls.caFile"} (KAI_CLIENT_CERT and KAI_CLIENT_KEY, or --client-cert and --client-key)`];
}
