/**
 * @module auth/principal
 * Who is calling, once their token has been verified, and the scope rules.
 */
import type { Scope } from "@kai/protocol";
import type { Viewer } from "../storage/contracts/viewer.js";

export interface Principal {
  tokenId: string;
  owner: string;
  scopes: readonly Scope[];
  /** The token's expiry, ms since epoch. */
  expiresAt: number;
  /** Vault secret-name patterns the token is limited to (claim `sec`); undefined = no limit. */
  secretPatterns?: readonly string[];
  /** The user the token belongs to (claim `uid`): a session's access token or a personal API token (issue 14). */
  userId?: string;
  /** The session a session's access token belongs to (claim `sid`). */
  sessionId?: string;
  /** How the caller authenticated: an API token (the default), a session's access token as bearer, or its cookie. */
  via?: "token" | "session" | "cookie";
}

/**
 * What a user's token may do now: its scopes capped by the user's current roles, refused when the user is disabled or
 * deleted or the session revoked (auth/users/access-table.ts). A port, so that the token service does not import
 * the users' parts.
 */
export interface PrincipalGate {
  /** The principal as of now; null = refused; undefined = not known in memory yet (then `load`). */
  apply(token: Principal): Principal | null | undefined;
  /** `apply` after reading what memory did not know from the store. */
  load(token: Principal): Promise<Principal | null>;
  /** Why a user's token is refused, for the error code; null when it is not refused for a user or session reason. */
  refusal(token: Principal): "session_revoked" | "account_disabled" | null;
}

/** Scopes that carry others with them (besides `admin`, which carries every scope). */
const IMPLIED: Partial<Record<Scope, readonly Scope[]>> = {
  "vault:admin": ["vault:read", "vault:write"],
};

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes("admin");
}

/** True when the principal holds any of `required` (admin holds every scope). */
export function hasAnyScope(principal: Pick<Principal, "scopes">, required: readonly Scope[]): boolean {
  if (principal.scopes.includes("admin")) return true;
  return required.some((scope) => principal.scopes.includes(scope) || principal.scopes.some((held) => IMPLIED[held]?.includes(scope)));
}

export function viewerOf(principal: Principal): Viewer {
  return { owner: principal.owner, admin: isAdmin(principal) };
}
