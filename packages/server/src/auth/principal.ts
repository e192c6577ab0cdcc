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
