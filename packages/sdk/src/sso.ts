/**
 * @module sso
 * The client's half of single sign-on for programs that are not browsers (issue 14, RFC 8252): a secret verifier
 * and its challenge (the base64url SHA-256 the server keeps until `POST /api/auth/sso/exchange`, so that another
 * program that sees the one-time code on its way to the loopback address cannot trade it), and the URL of
 * `GET /api/auth/sso/{provider}/start` to open in a browser. Uses the platform's Web Crypto (Node 20+, browsers),
 * so the SDK stays runtime-neutral.
 */
import { klp } from "@kai/protocol";
import { toQueryString } from "./query-string.js";

/** The part of Web Crypto used here (the SDK's type library has no DOM types). */
interface WebCrypto {
  getRandomValues<T extends Uint8Array>(array: T): T;
  subtle: { digest(algorithm: "SHA-256", data: Uint8Array): Promise<ArrayBuffer> };
}

function webCrypto(): WebCrypto {
  const crypto = (globalThis as { crypto?: WebCrypto }).crypto;
  if (crypto?.subtle === undefined) throw new TypeError("single sign-on needs Web Crypto (globalThis.crypto.subtle): Node 20+ or a browser in a secure context");
  return crypto;
}

/** A verifier and its challenge for one SSO sign-in. */
export interface SsoVerifier {
  /** 43 base64url characters (256 random bits); kept by the caller, presented once at the exchange. */
  verifier: string;
  /** base64url SHA-256 of the verifier: goes into the start URL. */
  challenge: string;
}

/** The base64url SHA-256 of a verifier: the `challenge` the start URL carries. */
export async function ssoChallengeOf(verifier: string): Promise<string> {
  const digest = await webCrypto().subtle.digest("SHA-256", klp.utf8(verifier));
  return klp.toBase64Url(new Uint8Array(digest));
}

/** A fresh random verifier and its challenge. */
export async function createSsoVerifier(): Promise<SsoVerifier> {
  const verifier = klp.toBase64Url(webCrypto().getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await ssoChallengeOf(verifier) };
}

/**
 * Where a sign-in with `provider` starts. A browser's own sign-in: `{ returnTo }` (a path on the server to land on,
 * signed in with cookies). A program's (token mode): `{ redirect, challenge }`, its loopback address
 * (`http://127.0.0.1:<port>/…`) that receives `?code=…`, and the challenge of its verifier.
 */
export type SsoStartOptions = { returnTo?: string } | { redirect: string; challenge: string };

export function ssoStartUrl(baseUrl: string, provider: string, options: SsoStartOptions = {}): string {
  const query = "redirect" in options ? { mode: "token", redirect: options.redirect, challenge: options.challenge } : { return: options.returnTo };
  return `${baseUrl}/api/auth/sso/${encodeURIComponent(provider)}/start${toQueryString(query)}`;
}
