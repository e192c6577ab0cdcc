/**
 * @module auth/sso/sso-state
 * A started SSO sign-in, kept until the provider sends the browser back: the OIDC `state`, the PKCE code verifier,
 * the nonce, where to land and the callback URL used, as a one-time `sso_state` challenge in the identity store
 * (so any instance of the node can finish it, and only once: `takeChallenge` is atomic across instances).
 *
 * The state is also bound to the browser that started it: a random value in a short-lived HttpOnly cookie whose
 * SHA-256 is stored with the state. Without it, someone could start a sign-in with their own account and send the
 * callback link to a victim, who would then be signed in as the attacker (login CSRF, RFC 9700 §4.7).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { parseJson } from "@kai/protocol";
import type { IdentityStore } from "../../storage/contracts/identity-store.js";

const SsoStateDataSchema = z.object({
  provider: z.string(),
  codeVerifier: z.string(),
  nonce: z.string(),
  returnPath: z.string(),
  redirectUri: z.string(),
  /** `cookie`: a browser session; `token`: the CLI, which gets an exchange code at its loopback address. */
  mode: z.enum(["cookie", "token"]),
  /** token mode: the CLI's loopback address and the SHA-256 (base64url) of its verifier. */
  cli: z.object({ redirect: z.string(), challenge: z.string() }).optional(),
  /** SHA-256 (hex) of the browser-binding cookie's value. */
  bindingHash: z.string(),
});
export type SsoStateData = z.infer<typeof SsoStateDataSchema>;

/** A signed-in CLI's pending exchange: whose session to start, once the CLI proves it holds the verifier. */
const SsoExchangeDataSchema = z.object({
  exchange: z.literal(true),
  provider: z.string(),
  userId: z.string(),
  mfa: z.boolean(),
  challenge: z.string(),
});
export type SsoExchangeData = Omit<z.infer<typeof SsoExchangeDataSchema>, "exchange">;

/** How long the CLI has to trade its exchange code, ms: it is waiting for it on its loopback port. */
const EXCHANGE_TTL_MS = 60_000;

export type SsoStateStore = Pick<IdentityStore, "putChallenge" | "takeChallenge">;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The name of the browser-binding cookie of one sign-in: one per state, so two tabs signing in do not clash. */
export function bindingCookieName(state: string): string {
  return `kai_sso_${sha256(state).slice(0, 16)}`;
}

/** A fresh browser-binding value (256 bits, base64url). */
export function newBinding(): string {
  return randomBytes(32).toString("base64url");
}

export class SsoStates {
  constructor(
    private readonly store: SsoStateStore,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** Stores a started sign-in under its state. */
  async put(state: string, data: Omit<SsoStateData, "bindingHash">, binding: string): Promise<void> {
    const at = this.now();
    const value: SsoStateData = { ...data, bindingHash: sha256(binding) };
    await this.store.putChallenge({
      id: state,
      kind: "sso_state",
      subject: null,
      data: JSON.stringify(value),
      createdAt: new Date(at).toISOString(),
      expiresAt: new Date(at + this.ttlMs).toISOString(),
    });
  }

  /** Stores a CLI's exchange code (one-time, one minute). */
  async putExchange(code: string, data: SsoExchangeData): Promise<void> {
    const at = this.now();
    await this.store.putChallenge({
      id: code,
      kind: "sso_state",
      subject: data.userId,
      data: JSON.stringify({ exchange: true, ...data }),
      createdAt: new Date(at).toISOString(),
      expiresAt: new Date(at + EXCHANGE_TTL_MS).toISOString(),
    });
  }

  /** Takes an exchange code; null when unknown, expired, used, or the verifier does not hash to its challenge. */
  async takeExchange(code: string, verifier: string): Promise<SsoExchangeData | null> {
    const row = await this.store.takeChallenge(code, "sso_state", new Date(this.now()).toISOString());
    if (!row) return null;
    const parsed = parseJson(row.data);
    const data = parsed.ok ? SsoExchangeDataSchema.safeParse(parsed.value) : null;
    if (!data?.success) return null;
    const presented = Buffer.from(createHash("sha256").update(verifier).digest("base64url"));
    const expected = Buffer.from(data.data.challenge);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    return { provider: data.data.provider, userId: data.data.userId, mfa: data.data.mfa, challenge: data.data.challenge };
  }

  /**
   * Takes (and so ends) the sign-in of this state. Null when it is unknown, expired or already used, when it was
   * started for another provider, or when the browser does not hold its binding cookie: all of them end the same way.
   */
  async take(state: string, provider: string, binding: string | undefined): Promise<SsoStateData | null> {
    const row = await this.store.takeChallenge(state, "sso_state", new Date(this.now()).toISOString());
    if (!row) return null;
    const parsed = parseJson(row.data);
    const data = parsed.ok ? SsoStateDataSchema.safeParse(parsed.value) : null;
    if (!data?.success) return null;
    if (data.data.provider !== provider) return null;
    if (binding === undefined || !timingSafeEqual(Buffer.from(sha256(binding)), Buffer.from(data.data.bindingHash.padEnd(64).slice(0, 64)))) return null;
    return data.data;
  }
}
