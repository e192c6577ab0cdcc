/**
 * @module tls-diagnosis
 * Says why a connection to a node failed in the CLI's own terms, where the SDK's reason (connection-failure.ts) does
 * not say what to do with this command line. Exit code 7 either way.
 * - A certificate this client does not trust (a private CA, a self-signed certificate): `--ca-file` / `KAI_CA_FILE`
 *   named, or, when one was given, that it is not the CA that signs the node's certificate.
 * - The wrong scheme: https:// to a node that speaks plain HTTP (OpenSSL's "wrong version number") names the http://
 *   URL to use; http:// to a node that speaks HTTPS, which drops the request with no answer ("other side closed",
 *   UND_ERR_SOCKET), is checked by one TLS handshake of the CLI's own and names the https:// URL.
 * - An HTTPS node that closed the connection: a node whose `server.tls.clientCertificates` is `all` refuses a client
 *   without a certificate by a TLS 1.3 alert that arrives after the client's side of the handshake is done, and one
 *   whose certificate it does not accept by closing the connection; undici reports both only as "other side closed".
 *   The CLI opens one connection of its own with the same TLS settings, asks for `/healthz`, and reads what happens:
 *   the alert, or a close without an answer.
 * `kai peer add` and `discover --add` get their own words (explainPeerConnectionFailure): the URL is their argument,
 * and a CA the peer needs goes to the node's federation.tls.caFile as well as to `--ca-file`.
 * The probes run only after such a failure, and never with verification switched off: a certificate that does not
 * verify is itself the sign that the port speaks TLS.
 */
import { isIP } from "node:net";
import { connect } from "node:tls";
import { UNTRUSTED_CERTIFICATE_CODES } from "@kai/protocol";
import { describeConnectionFailure, KaiConnectionError } from "@kai/sdk";
import { appliedTlsOptions } from "./tls-trust.js";

/** The probe gives up after this long and the original error stands. */
const PROBE_TIMEOUT_MS = 3000;

/**
 * OpenSSL's code for the alert a node sends a client that shows no certificate. A certificate shown and refused (not
 * signed by the node's CA, expired, not made for client authentication) gets no alert: Node checks it after the
 * handshake and closes the connection, which the probe sees as a close without an answer.
 */
const CERTIFICATE_REQUIRED = "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED";
const CLOSED_UNANSWERED = "closed without an answer";

/** Certificate checks that fail only once the node has answered in TLS: each proves the port speaks it. */
const CERTIFICATE_CHECKS = new Set([...UNTRUSTED_CERTIFICATE_CODES, "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID"]);

/** The error codes anywhere on the `cause` chain (undici's SocketError sits under fetch's TypeError). */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
  }
  return codes;
}

/**
 * How the node's TLS layer treats one connection with these settings that asks for `/healthz`: the error code of an
 * alert, `CLOSED_UNANSWERED` when the connection was closed after the handshake without a byte of answer, undefined
 * when it answered (or the probe timed out, or failed before the handshake: then the original error says enough).
 */
function alertOf(url: URL): Promise<string | undefined> {
  return new Promise((resolve) => {
    const { host, port, sni } = endpointOf(url);
    const socket = connect({ ...appliedTlsOptions(), ...sni, host, port, ALPNProtocols: ["http/1.1"] });
    let handshaken = false;
    const done = (code?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(code);
    };
    const timer = setTimeout(() => done(), PROBE_TIMEOUT_MS);
    socket.once("secureConnect", () => {
      handshaken = true;
      socket.write(`HEAD /healthz HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n\r\n`);
    });
    // Answered at all: the node let this connection through, so no certificate was the reason.
    socket.once("data", () => done());
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code));
    socket.once("end", () => done(handshaken ? CLOSED_UNANSWERED : undefined));
    socket.once("close", () => done(handshaken ? CLOSED_UNANSWERED : undefined));
  });
}

/** The host and port of `url`, as `connect` takes them (a URL's IPv6 host keeps its brackets; tls.connect wants none). */
function endpointOf(url: URL): { host: string; port: number; sni: { servername?: string } } {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  // SNI as undici sends it (a proxy in front may route by it): the host name, never an address.
  return { host, port, sni: isIP(host) === 0 ? { servername: host } : {} };
}

/**
 * True when the node at `url`'s host and port answers a TLS handshake: it completes, or fails on the certificate (the
 * node answered in TLS; this client does not trust what it showed). False for a plain HTTP answer or no answer.
 */
function speaksTls(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const { host, port, sni } = endpointOf(url);
    const socket = connect({ ...appliedTlsOptions(), ...sni, host, port, ALPNProtocols: ["http/1.1"] });
    const done = (tls: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(tls);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    socket.once("secureConnect", () => done(true));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code !== undefined && CERTIFICATE_CHECKS.has(error.code)));
    socket.once("close", () => done(false));
  });
}

/** What to say for each failure the diagnosis tells apart: the node the CLI talks to, or a peer `kai peer add` reads. */
interface Wording {
  untrusted(code: string, caGiven: boolean): string;
  otherHost(reason: string): string;
  plainHttp(host: string): string;
  https(host: string): string;
  certificateRequired: string;
  certificateRefused: string;
}

/** The CLI's own node (`--url`, `KAI_URL`): its flags fix it. */
const NODE_WORDS: Wording = {
  untrusted: (code, caGiven) =>
    caGiven
      ? `the node's certificate is not signed by a CA this client trusts (${code}), nor by the one given with --ca-file (or KAI_CA_FILE): give the CA that signs it (the node's kai serve banner names it)`
      : `the node's certificate is not signed by a CA this client trusts (${code}): if it comes from a private CA (or is self-signed), give that CA's certificate with --ca-file FILE (or KAI_CA_FILE)`,
  otherHost: (reason) => `${reason}; use a host name the certificate lists in --url (or KAI_URL), or have the certificate reissued for this one`,
  plainHttp: (host) => `the node does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to speak plain HTTP; use http://${host}`,
  https: (host) => `the node closed the connection without answering (UND_ERR_SOCKET): it speaks HTTPS on that port; use https://${host}`,
  certificateRequired:
    "the node asks every client for a certificate (server.tls.clientCertificates: all) and none was shown; give --client-cert and --client-key (or KAI_CLIENT_CERT and KAI_CLIENT_KEY)",
  certificateRefused:
    "the node closed the connection after the TLS handshake without answering, which is how a node refuses a client certificate: the one shown must be signed by a CA in the node's server.tls.caFile, be valid now and be made for client authentication (extendedKeyUsage clientAuth)",
};

/**
 * Where the CA of a peer's certificate goes on the node (klp/peer-tls.ts's rule): `--ca-file` fixes only the CLI's
 * own read of the peer's document, the node's link checks the peer's certificate against its own settings.
 */
const NODE_TRUSTS_PEER_CA =
  "and the node needs it too, in federation.tls.caFile (for peers it replaces server.tls.caFile: keep both CAs in that file; without a federation.tls section, server.tls.caFile serves)";

/** A peer `kai peer add <url>` or `discover --add` reads: the URL is the command's own, the CA needed twice. */
const PEER_WORDS: Wording = {
  untrusted: (code, caGiven) =>
    caGiven
      ? `the peer's certificate is not signed by a CA this machine trusts (${code}), nor by the one given with --ca-file (or KAI_CA_FILE): give the CA that signs the peer's certificate (the peer's kai serve banner names it), ${NODE_TRUSTS_PEER_CA}`
      : `the peer's certificate is not signed by a CA this machine trusts (${code}): if it comes from a private CA (or is self-signed), give that CA's certificate with --ca-file FILE (or KAI_CA_FILE) for this check, ${NODE_TRUSTS_PEER_CA}`,
  otherHost: (reason) => `${reason.replace(/^the node's/, "the peer's")}; add the peer by a host name its certificate lists (in the URL given to this command), or have the peer's certificate reissued for this one`,
  plainHttp: (host) => `the peer does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to speak plain HTTP; add it as http://${host}`,
  https: (host) => `the peer closed the connection without answering (UND_ERR_SOCKET): it speaks HTTPS on that port; add it as https://${host}`,
  certificateRequired:
    "the peer asks every client for a certificate (its server.tls.clientCertificates: all) and this check showed none: give --client-cert and --client-key (or KAI_CLIENT_CERT and KAI_CLIENT_KEY) for it; the node itself shows peers federation.tls.certFile/keyFile, else its server.tls pair",
  certificateRefused:
    "the peer closed the connection after the TLS handshake without answering, which is how a node refuses a client certificate: the one shown (--client-cert) must be signed by a CA in the peer's server.tls.caFile, be valid now and be made for client authentication (extendedKeyUsage clientAuth)",
};

/**
 * Why a request to the node at `baseUrl` failed, in the CLI's terms (its flags, the URL to use instead); undefined
 * when the SDK's reason says as much as the CLI can. `error` is what fetch threw (its `cause` holds the code).
 */
export function explainConnectionFailure(error: unknown, baseUrl: string): Promise<string | undefined> {
  return explain(error, baseUrl, NODE_WORDS);
}

/**
 * Why the CLI could not read a peer's node document at `url` (`kai peer add`, `discover --add`), in the peer's terms:
 * the URL is the command's argument, not `--url`, and a CA missing is needed by the node as well as by this check.
 */
export function explainPeerConnectionFailure(error: unknown, url: string): Promise<string | undefined> {
  return explain(error, url, PEER_WORDS);
}

async function explain(error: unknown, baseUrl: string, words: Wording): Promise<string | undefined> {
  const codes = causeCodes(error);
  const url = new URL(baseUrl);
  const untrusted = codes.find((code) => UNTRUSTED_CERTIFICATE_CODES.has(code));
  if (untrusted) return words.untrusted(untrusted, appliedTlsOptions().ca !== undefined);
  if (codes.includes("ERR_TLS_CERT_ALTNAME_INVALID")) return words.otherHost(describeConnectionFailure(error, baseUrl));
  if (codes.includes("ERR_SSL_WRONG_VERSION_NUMBER") && url.protocol === "https:") return words.plainHttp(url.host);
  if (codes.includes("UND_ERR_SOCKET") && url.protocol === "http:" && (await speaksTls(url))) return words.https(url.host);
  if (codes.includes("UND_ERR_SOCKET") && url.protocol === "https:") {
    const alert = await alertOf(url);
    if (alert === CERTIFICATE_REQUIRED) return words.certificateRequired;
    if (alert === CLOSED_UNANSWERED && appliedTlsOptions().cert !== undefined) return words.certificateRefused;
  }
  return undefined;
}

/** `error` with a message that says what to do, when `explainConnectionFailure` knows more; otherwise `error` as it is. */
export async function diagnoseConnectionError(error: unknown): Promise<unknown> {
  if (!(error instanceof KaiConnectionError) || error.url === undefined) return error;
  const reason = await explainConnectionFailure(error.cause, error.url);
  return reason === undefined ? error : new KaiConnectionError(`cannot reach ${error.url}: ${reason}`, { cause: error, url: error.url });
}
