/**
 * @module test/gateway/fakes/credential-echo
 * What a hostile provider echoes of the credential it was sent, in one of the encodings a client would not think
 * of as "the secret": base64 and base64url (of the secret alone, and at the two other byte alignments, as inside
 * `base64("u:" + secret)`), percent-encoding (upper- and lowercase hex), form encoding, and the whole auth header
 * value base64- or percent-encoded. The fake does not know the secret: it reads it off the request's auth headers
 * (a Bearer token, a Basic `user:password` pair's password, an api-key header's value), the way an echoing
 * upstream would.
 */
import type { IncomingHttpHeaders } from "node:http";

export const ECHO_ENCODINGS = [
  "raw",
  "base64",
  "base64url",
  "base64-offset1",
  "base64-offset2",
  "basic-pair",
  "percent",
  "percent-lower",
  "form",
  "header-base64",
  "header-percent",
] as const;
export type EchoEncoding = (typeof ECHO_ENCODINGS)[number];

/** Headers a connector or a service record's `auth.header` puts a credential in (the tests' custom one included). */
const AUTH_HEADERS = ["authorization", "x-api-key", "api-key", "x-chroma-token", "x-n8n-api-key", "x-secret-header"];

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const base64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");
const form = (text: string) => new URLSearchParams({ k: text }).toString().slice(2);

/** The credential as the request carried it: the header value, and the secret inside it (Basic: the password). */
export function credentialOf(headers: IncomingHttpHeaders): { header: string; secret: string } | undefined {
  for (const name of AUTH_HEADERS) {
    const header = headers[name];
    if (typeof header !== "string" || header === "") continue;
    const scheme = /^(Bearer|Basic)\s+(.+)$/i.exec(header);
    if (!scheme) return { header, secret: header };
    if (scheme[1]?.toLowerCase() === "bearer") return { header, secret: scheme[2] ?? "" };
    const pair = Buffer.from(scheme[2] ?? "", "base64").toString("utf8");
    return { header, secret: pair.slice(pair.indexOf(":") + 1) };
  }
  return undefined;
}

/** `secret` (carried in the header value `header`) in `encoding`. */
export function encodeEcho(encoding: EchoEncoding, secret: string, header: string): string {
  switch (encoding) {
    case "raw":
      return secret;
    case "base64":
      return base64(secret);
    case "base64url":
      return base64url(secret);
    case "base64-offset1":
      return base64(`!${secret}!`);
    case "base64-offset2":
      return base64url(`!!${secret}`);
    case "basic-pair":
      return base64(`admin:${secret}`);
    case "percent":
      return encodeURIComponent(secret);
    case "percent-lower":
      return encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    case "form":
      return form(secret);
    case "header-base64":
      return base64(header);
    case "header-percent":
      return encodeURIComponent(header);
  }
}

/** The error text a hostile upstream answers with: the credential of `headers` echoed in `encoding`. */
export function echoMessage(encoding: EchoEncoding, headers: IncomingHttpHeaders): string {
  const credential = credentialOf(headers);
  return credential ? `invalid credential ${encodeEcho(encoding, credential.secret, credential.header)} (echoed)` : "no credential was sent";
}
