/**
 * @module klp/grant
 * TokenGrants (the envelope's `auth`): a capability grant from `issuedBy` to `for`, carried as a compact
 * JWS (EdDSA, Ed25519) whose claims repeat the grant's fields. The JWS is built and checked here with
 * the same Ed25519 code as envelopes, so no JOSE library (and no Node-only code) is needed.
 */
import { z } from "zod";
import { parseJsonBytes } from "../parse-json.js";
import { canonicalJson } from "./jcs.js";
import { fromBase64Url, toBase64Url, utf8 } from "./encoding.js";
import { DidSchema, publicKeyFromDid } from "./did.js";
import { signBytes, verifyBytes, type KlpKeyPair } from "./keys.js";
import type { KlpTokenGrant } from "./envelope.js";

const GRANT_TYP = "klp-grant+jws";

const GrantHeaderSchema = z.strictObject({ alg: z.literal("EdDSA"), typ: z.literal(GRANT_TYP) });
/** JWT-style claims: issuer, subject, capabilities, issued-at and expiry in seconds since the epoch. */
export const GrantClaimsSchema = z.strictObject({
  iss: DidSchema,
  sub: DidSchema,
  cap: z.array(z.string().min(1).max(256)).max(256),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
});
export type GrantClaims = z.infer<typeof GrantClaimsSchema>;

export interface CreateGrantInput {
  for: string;
  capabilities: string[];
  ttlSeconds: number;
  now?: Date;
}

/** Issues a grant signed by `issuer`. The JWS parts are JCS-serialised so the token is reproducible. */
export function createGrant(input: CreateGrantInput, issuer: KlpKeyPair): KlpTokenGrant {
  const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const claims: GrantClaims = { iss: issuer.did, sub: input.for, cap: input.capabilities, iat, exp: iat + input.ttlSeconds };
  const signingText = `${toBase64Url(utf8(canonicalJson({ alg: "EdDSA", typ: GRANT_TYP })))}.${toBase64Url(utf8(canonicalJson(claims)))}`;
  const token = `${signingText}.${toBase64Url(signBytes(issuer.secretKey, utf8(signingText)))}`;
  return { issuedBy: issuer.did, for: input.for, capabilities: input.capabilities, ttl: input.ttlSeconds, token };
}

function decodePart<T extends z.ZodType>(part: string, schema: T): z.infer<T> | undefined {
  const bytes = fromBase64Url(part);
  if (!bytes) return undefined;
  const json = parseJsonBytes(bytes);
  if (!json.ok) return undefined;
  const parsed = schema.safeParse(json.value);
  return parsed.success ? parsed.data : undefined;
}

export type GrantCheck = { ok: true; claims: GrantClaims } | { ok: false; reason: string };

export interface VerifyGrantOptions {
  /** The envelope's sender: a grant is usable only by the DID it was issued for. */
  sender: string;
  /** Receiver clock, ms since the epoch. */
  nowMs: number;
  /** A capability the grant must include. */
  requiredCapability?: string;
  /** Whose grants count; a grant from anyone else is refused. */
  isTrustedIssuer: (did: string) => boolean;
}

/**
 * Checks a grant: JWS signature by `issuedBy`, claims equal to the grant's readable fields (so the
 * readable copy cannot lie), issued for the sender, not expired, trusted issuer, required capability.
 */
export function verifyGrant(grant: KlpTokenGrant, options: VerifyGrantOptions): GrantCheck {
  const [headerPart, claimsPart, signaturePart] = grant.token.split(".");
  if (headerPart === undefined || claimsPart === undefined || signaturePart === undefined) return { ok: false, reason: "token is not a compact JWS" };
  const header = decodePart(headerPart, GrantHeaderSchema);
  const claims = decodePart(claimsPart, GrantClaimsSchema);
  const signature = fromBase64Url(signaturePart);
  const issuerKey = publicKeyFromDid(grant.issuedBy);
  if (!header || !claims || signature?.length !== 64 || !issuerKey) return { ok: false, reason: "token is malformed" };
  if (!verifyBytes(issuerKey, utf8(`${headerPart}.${claimsPart}`), signature)) return { ok: false, reason: "token signature does not verify" };
  const matches =
    claims.iss === grant.issuedBy &&
    claims.sub === grant.for &&
    claims.exp - claims.iat === grant.ttl &&
    canonicalJson(claims.cap) === canonicalJson(grant.capabilities);
  if (!matches) return { ok: false, reason: "token claims differ from the grant" };
  if (grant.for !== options.sender) return { ok: false, reason: "grant was issued for another identity" };
  const nowSeconds = options.nowMs / 1000;
  if (nowSeconds < claims.iat || nowSeconds > claims.exp) return { ok: false, reason: "grant is not valid at this time" };
  if (!options.isTrustedIssuer(grant.issuedBy)) return { ok: false, reason: "grant issuer is not trusted" };
  if (options.requiredCapability !== undefined && !claims.cap.includes(options.requiredCapability)) {
    return { ok: false, reason: "grant lacks the required capability" };
  }
  return { ok: true, claims };
}
