/**
 * @module connection-failure
 * Why a request got no answer, as the text of `KaiConnectionError` ("cannot reach <url>: …"). Node's fetch reports
 * "fetch failed" and keeps the useful part (ECONNREFUSED, a certificate that does not verify) in `cause`, in Node's
 * or OpenSSL's words: "unable to verify the first certificate", or for plain HTTP on an https:// URL
 * "…SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:", which
 * shows the build's source paths and says nothing of the fix. Each code stays in the text, once: scripts and searches
 * key on it. Runtime-neutral (browsers' fetch gives no cause: their text is kept as it is). The list of untrusted
 * certificates' codes and OpenSSL's text cleaned are @kai/protocol's, shared with the node's words for its peers and
 * the CLI's.
 */
import { UNTRUSTED_CERTIFICATE_CODES, withoutOpensslInternals } from "@kai/protocol";

/** Re-exported from the SDK's entry, as before the list moved to @kai/protocol. */
export { UNTRUSTED_CERTIFICATE_CODES };

/** The socket errors people meet, as a sentence (Node's own text repeats the code: "connect ECONNREFUSED 127.0.0.1:7070"). */
const SOCKET_FAILURES = new Map([
  ["ECONNREFUSED", "the connection was refused (ECONNREFUSED); is the server running?"],
  ["ENOTFOUND", "the host name does not resolve (ENOTFOUND)"],
  ["EAI_AGAIN", "the host name could not be resolved right now (EAI_AGAIN)"],
  ["ECONNRESET", "the connection was reset (ECONNRESET)"],
  ["ETIMEDOUT", "the connection timed out (ETIMEDOUT)"],
  ["EHOSTUNREACH", "the host is unreachable (EHOSTUNREACH)"],
  ["ENETUNREACH", "the network is unreachable (ENETUNREACH)"],
]);

/** The node's TLS as a sentence, by Node's (OpenSSL's) code. */
const TLS_FAILURES = new Map([
  ["CERT_HAS_EXPIRED", "the node's certificate has expired (CERT_HAS_EXPIRED): its operator must renew it (or this machine's clock is wrong)"],
  ["CERT_NOT_YET_VALID", "the node's certificate is not valid yet (CERT_NOT_YET_VALID): check this machine's clock"],
  ["ERR_SSL_WRONG_VERSION_NUMBER", "the node does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to speak plain HTTP; use http://"],
]);

/** The reason for the failure of a request to `url` (the node's base URL), for "cannot reach <url>: <reason>". */
export function describeConnectionFailure(error: unknown, url: string): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (!(cause instanceof Error)) return withoutOpensslInternals(error.message);
  const code = (cause as { code?: unknown }).code;
  if (typeof code !== "string") return withoutOpensslInternals(cause.message);
  const known = SOCKET_FAILURES.get(code) ?? TLS_FAILURES.get(code);
  if (known) return known;
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) return `the node's certificate is not signed by a CA this client trusts (${code})`;
  // Node's text names the certificate's names and the host asked for: that is the useful part.
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `the node's certificate is not made for this host name (${code}): ${cause.message}`;
  // An HTTPS node drops a plain HTTP request without a word, which undici reports as "other side closed".
  if (code === "UND_ERR_SOCKET" && url.startsWith("http:")) return `the node closed the connection without answering (${code}); if it serves HTTPS, use https://`;
  const text = withoutOpensslInternals(cause.message);
  return text.includes(code) ? text : `${text} (${code})`;
}
