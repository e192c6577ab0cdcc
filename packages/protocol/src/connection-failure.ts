/**
 * @module connection-failure
 * The parts of wording a failed TLS connection that the node (its connections to peers, klp/peer-failure.ts), the SDK
 * (connection-failure.ts) and the CLI (tls-diagnosis.ts) share: which of Node's (OpenSSL's) certificate codes mean "no
 * CA the client trusts signs it", and OpenSSL's text without its internals. One copy, so that a code added for one of
 * them is known to all (the lists once differed: CERT_SIGNATURE_FAILURE was the node's and the CLI's, not the SDK's).
 * Runtime-neutral: plain strings, no `node:` imports (the SDK's main entry runs in browsers).
 */

/**
 * Certificate checks that fail because the client does not know (or cannot verify the signature of) the CA that
 * signed the certificate shown: the fix is the CA to trust, not the certificate. CERT_SIGNATURE_FAILURE: a CA of the
 * same name as the one trusted, but another key (a CA made again), which the fix is the same for.
 */
export const UNTRUSTED_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);

/**
 * OpenSSL's text without its internals, which say nothing to an operator and show this build's source paths:
 * - a leading thread id (`80FCCC097D7F0000:`, 8 to 16 hex digits, as OpenSSL 3 prints its error queue);
 * - the error number (`error:0A00010B:`);
 * - the source path and line (`:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:`), replaced by ": " so that
 *   text after it stays apart ("…handshake failure: SSL alert number 40", not "…failureSSL alert number 40").
 */
export function withoutOpensslInternals(message: string): string {
  return message
    .replace(/^[0-9A-F]{8,16}:/, "")
    .replace(/error:[0-9A-F]{8}:/g, "")
    .replace(/:[^\s:]*\/deps\/openssl\/[^\s:]*:\d+:?/g, ": ")
    .replace(/(?::\s*)+$/, "")
    .trim();
}
