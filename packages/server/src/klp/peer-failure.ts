/**
 * @module klp/peer-failure
 * Why a connection to a peer failed, as a sentence an operator can act on: for `kai peer add`'s refusal, a link's
 * `lastError` (`kai peer show`) and the warn line the link writes. Node's own errors are OpenSSL's text ("unable to
 * verify the first certificate", or "…ssl3_get_record:wrong version number:../deps/openssl/…/ssl3_record.c:350:",
 * which shows this build's source paths) under fetch's bare "fetch failed"; before this module the peer list said
 * only "the node could not be reached", the cause dropped. The sentences name this node's settings (the peer's CA
 * is trusted through `federation.tls.caFile`), which the peer's operator cannot see.
 *
 * Also the reason a peer gives when it refuses the WebSocket upgrade (a 401 from a node that needs a client
 * certificate): its error body's message, read within a small bound, since it is another node's text.
 */
import { ErrorBodySchema, parseJson, UNTRUSTED_CERTIFICATE_CODES, withoutOpensslInternals } from "@kai/protocol";

/** The most of a refusal's body read, and of the peer's message kept: a sentence, not a document. */
export const MAX_REFUSAL_BYTES = 4096;
const MAX_REASON_CHARS = 300;

/** A peer that answered the KLP WebSocket's upgrade with an HTTP status instead of switching protocols. */
export class PeerRefusedError extends Error {
  override readonly name = "PeerRefusedError";
  constructor(
    readonly status: number,
    /** The peer's own message (its error body's), when it gave one. */
    readonly reason: string | undefined,
  ) {
    super(`the peer refused the KLP connection (HTTP ${status})${reason ? `: ${reason}` : ""}`);
  }
}

/** The peer's message out of a refusal's body (the node's error shape), cut to a sentence's length; else undefined. */
export function refusalReason(body: string): string | undefined {
  const json = parseJson(body.slice(0, MAX_REFUSAL_BYTES));
  const parsed = json.ok ? ErrorBodySchema.safeParse(json.value) : undefined;
  if (!parsed?.success) return undefined;
  const message = parsed.data.error.message.replace(/\s+/g, " ").trim();
  return message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS)}…` : message || undefined;
}

const SENTENCES: Record<string, string> = {
  CERT_HAS_EXPIRED: "the peer's certificate has expired (CERT_HAS_EXPIRED): its operator must renew it (or this machine's clock is wrong)",
  CERT_NOT_YET_VALID: "the peer's certificate is not valid yet (CERT_NOT_YET_VALID): check this machine's clock and the peer's",
  ERR_SSL_WRONG_VERSION_NUMBER: "the peer does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to serve plain HTTP; add it by its http:// URL",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    "the peer needs a client certificate on every connection (its server.tls.clientCertificates: all) and this node showed none: give it one signed by the peer's CA (federation.tls.certFile/keyFile, or server.tls's pair)",
  ECONNREFUSED: "the connection was refused (ECONNREFUSED): is the peer running, at that port?",
  ENOTFOUND: "the peer's host name does not resolve (ENOTFOUND)",
  EAI_AGAIN: "the peer's host name could not be resolved right now (EAI_AGAIN)",
  ECONNRESET: "the connection was reset (ECONNRESET)",
  ETIMEDOUT: "the connection timed out (ETIMEDOUT)",
  EHOSTUNREACH: "the peer's host is unreachable (EHOSTUNREACH)",
  ENETUNREACH: "the network is unreachable (ENETUNREACH)",
};

/** The errors along `cause` (fetch's TypeError "fetch failed" carries undici's or Node's error under it). */
function chainOf(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) chain.push(current);
  return chain;
}

/**
 * The reason a connection to the peer at `url` (reading its node document, opening a session) failed, as one
 * sentence; the error's code, when it has one, stays in it (searches and alerts key on it).
 */
export function describePeerFailure(error: unknown, url?: string): string {
  if (error instanceof PeerRefusedError) return error.message;
  const chain = chainOf(error);
  if (chain.some((one) => one.name === "TimeoutError")) return "the peer did not answer in time";
  for (const one of chain) {
    const code = (one as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
      return `the peer's certificate is not signed by a CA this node trusts (${code}): add the CA that signs it to federation.tls.caFile, which replaces server.tls.caFile for peers (keep both CAs in that file)`;
    }
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      return `the peer's certificate is not made for the host in its URL (${code}): ${withoutOpensslInternals(one.message)}`;
    }
    // Closed with no answer. Over plain HTTP, a peer that speaks HTTPS drops the request so; over HTTPS, a peer that
    // needs a client certificate on every connection refuses one missing (its alert comes after the handshake) or
    // not signed by its CA so.
    if (code === "UND_ERR_SOCKET" || code === "ECONNRESET") {
      if (url?.startsWith("http:") || url?.startsWith("ws:")) return `the peer closed the connection without answering (${code}): if it serves HTTPS, add it by its https:// URL`;
      if (url?.startsWith("https:") || url?.startsWith("wss:")) {
        return `the peer closed the connection without answering (${code}), as a node that needs a client certificate on every connection (server.tls.clientCertificates: all) does when none is shown or the one shown is not signed by its CA (federation.tls.certFile/keyFile, or server.tls's pair)`;
      }
    }
    const sentence = SENTENCES[code];
    if (sentence) return sentence;
  }
  const innermost = chain.at(-1);
  if (!innermost) return "the peer could not be reached";
  const code = (innermost as { code?: unknown }).code;
  const text = withoutOpensslInternals(innermost.message);
  return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text;
}
