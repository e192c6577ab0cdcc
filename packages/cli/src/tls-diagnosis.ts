/**
 * @module tls-diagnosis
 * Says why an HTTPS node closed the connection when undici cannot. A node whose `server.tls.clientCertificates` is
 * `all` refuses a client without a certificate by a TLS 1.3 alert that arrives after the client's side of the
 * handshake is done, and one whose certificate it does not accept by closing the connection; undici reports both only
 * as "other side closed" (UND_ERR_SOCKET), which does not tell the user what to do. After such a failure, and only
 * then, the CLI opens one connection of its own with the same TLS settings, asks for `/healthz`, and reads what
 * happens: the alert, or a close without an answer.
 */
import { isIP } from "node:net";
import { connect } from "node:tls";
import { KaiConnectionError } from "@kai/sdk";
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

/** The error code anywhere on the `cause` chain (undici's SocketError sits under fetch's TypeError). */
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
    // A URL's IPv6 host keeps its brackets; tls.connect wants the address without them.
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    // SNI as undici sends it (a proxy in front may route by it): the host name, never an address.
    const sni = isIP(host) === 0 ? { servername: host } : {};
    const socket = connect({ ...appliedTlsOptions(), ...sni, host, port: Number(url.port || 443), ALPNProtocols: ["http/1.1"] });
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

/**
 * `error` with a message that says what to do, when it is a closed HTTPS connection that a certificate alert explains;
 * otherwise `error` as it is.
 */
export async function diagnoseConnectionError(error: unknown): Promise<unknown> {
  if (!(error instanceof KaiConnectionError) || error.url === undefined || !causeCodes(error).includes("UND_ERR_SOCKET")) return error;
  const url = new URL(error.url);
  if (url.protocol !== "https:") return error;
  const alert = await alertOf(url);
  if (alert === CERTIFICATE_REQUIRED) {
    return new KaiConnectionError(
      `cannot reach ${error.url}: the node asks every client for a certificate (server.tls.clientCertificates: all) and none was shown; give --client-cert and --client-key (or KAI_CLIENT_CERT and KAI_CLIENT_KEY)`,
      { cause: error, url: error.url },
    );
  }
  if (alert === CLOSED_UNANSWERED && appliedTlsOptions().cert !== undefined) {
    return new KaiConnectionError(
      `cannot reach ${error.url}: the node closed the connection after the TLS handshake without answering, which is how a node refuses a client certificate: the one shown must be signed by a CA in the node's server.tls.caFile, be valid now and be made for client authentication (extendedKeyUsage clientAuth)`,
      { cause: error, url: error.url },
    );
  }
  return error;
}
