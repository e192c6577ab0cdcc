/**
 * @module views/sign-in/passkey
 * The browser's half of passkeys (WebAuthn) through @simplewebauthn/browser: the node's options go to
 * `navigator.credentials`, and its JSON answer goes back through the SDK. Kept apart so that the pages only say
 * what they want (an assertion, a new credential), not how the bytes are encoded.
 */
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from "@simplewebauthn/browser";
import type { WebAuthnOptionsResponse } from "@kai/sdk";

type AuthenticationOptions = Parameters<typeof startAuthentication>[0]["optionsJSON"];
type RegistrationOptions = Parameters<typeof startRegistration>[0]["optionsJSON"];

/** Whether this browser can use passkeys at all (buttons for them are shown only then). */
export function passkeysAvailable(nodeUrl: string): boolean {
  // A passkey is bound to the node's own site (its relying party): a page of another origin (the extension's
  // chrome-extension:// pages) cannot use it, so the button is not offered there.
  if (typeof window === "undefined" || new URL(nodeUrl).origin !== window.location.origin) return false;
  try {
    return browserSupportsWebAuthn();
  } catch {
    return false;
  }
}

/** Asks the browser for an assertion answering the node's sign-in challenge: `{challengeId, response}`. */
export async function passkeyAssertion(options: WebAuthnOptionsResponse): Promise<{ challengeId: string; response: Record<string, unknown> }> {
  const response = await startAuthentication({ optionsJSON: options.options as unknown as AuthenticationOptions });
  return { challengeId: options.challengeId, response: response as unknown as Record<string, unknown> };
}

/** Asks the browser to create a passkey for the node's registration options. */
export async function passkeyCredential(options: WebAuthnOptionsResponse): Promise<{ challengeId: string; response: Record<string, unknown> }> {
  const response = await startRegistration({ optionsJSON: options.options as unknown as RegistrationOptions });
  return { challengeId: options.challengeId, response: response as unknown as Record<string, unknown> };
}

/** A person's words for a browser refusal (cancelled, timed out, no passkey for this site). */
export function describePasskeyError(error: unknown): Error {
  if (error instanceof Error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
    return new Error("The passkey request was cancelled or timed out. Try again, or use another way to sign in.");
  }
  return error instanceof Error ? error : new Error("The passkey could not be used.");
}
