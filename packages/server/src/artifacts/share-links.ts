/**
 * @module artifacts/share-links
 * Share-link tokens: `<payload>.<signature>`, both base64url, the payload `{s: share id, a: artifact id, e: expiry
 * ms}` signed with the node's Ed25519 key (the key its tokens and KLP messages are signed with). Signing rather than
 * an HMAC under a vault key: the node key already exists, is sealed in the vault and rotated with it, so a link never
 * outlives the key that made it and no second secret has to be kept. The signature makes a tampered link fail
 * without a database read; the stored share (storage/contracts/artifact-store.ts) makes a link revocable early.
 */
import { sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { ArtifactIdSchema, parseJson, ShareIdSchema } from "@kai/protocol";

/** The node key's two halves, as the signer needs them (identity/node-key.ts's `NodeKey` fits). */
export interface ShareKey {
  readonly publicKey: KeyObject;
  /** Throws while the key is sealed in a locked vault. */
  readonly privateKey: KeyObject;
}

const SharePayloadSchema = z.strictObject({ s: ShareIdSchema, a: ArtifactIdSchema, e: z.number().int().positive() });
export type SharePayload = z.infer<typeof SharePayloadSchema>;

/** Longest token accepted (a real one is about 200 characters); anything longer is not read at all. */
const MAX_TOKEN_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export class ShareLinks {
  constructor(private readonly key: ShareKey) {}

  sign(payload: SharePayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    const signature = sign(null, Buffer.from(body), this.key.privateKey).toString("base64url");
    return `${body}.${signature}`;
  }

  /** The payload of a token whose signature is this node's, or null (malformed, tampered, another key's). */
  verify(token: string): SharePayload | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const [body, signature, extra] = token.split(".");
    if (!body || !signature || extra !== undefined || !BASE64URL.test(body) || !BASE64URL.test(signature)) return null;
    const bytes = Buffer.from(signature, "base64url");
    if (bytes.length !== 64 || !verify(null, Buffer.from(body), this.key.publicKey, bytes)) return null;
    const parsed = parseJson(Buffer.from(body, "base64url").toString("utf8"));
    if (!parsed.ok) return null;
    const payload = SharePayloadSchema.safeParse(parsed.value);
    return payload.success ? payload.data : null;
  }
}
