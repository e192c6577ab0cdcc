/**
 * @module auth/sessions/refresh-tokens
 * Refresh tokens: `<session id>.<256 random bits, base64url>`. The session id in front lets the store find the
 * session without an index on the secret; only the SHA-256 of the whole token is stored.
 */
import { createHash, randomBytes } from "node:crypto";

const SHAPE = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export function newRefreshToken(sessionId: string): string {
  return `${sessionId}.${randomBytes(32).toString("base64url")}`;
}

/** SHA-256 hex of a token: what the store keeps and compares. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The session id of a well-formed refresh token; null for anything else. */
export function sessionIdOf(token: string): string | null {
  return SHAPE.exec(token)?.[1] ?? null;
}
