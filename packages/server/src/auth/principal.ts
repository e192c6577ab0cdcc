/**
 * @module auth/principal
 * Who is calling, once their token has been verified, and the scope rules.
 */
import type { Scope } from "@kai/protocol";
import type { Viewer } from "../storage/store.js";

export interface Principal {
  tokenId: string;
  owner: string;
  scopes: readonly Scope[];
  /** The token's expiry, ms since epoch. */
  expiresAt: number;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes("admin");
}

/** True when the principal holds any of `required` (admin holds every scope). */
export function hasAnyScope(principal: Principal, required: readonly Scope[]): boolean {
  return isAdmin(principal) || required.some((scope) => principal.scopes.includes(scope));
}

export function viewerOf(principal: Principal): Viewer {
  return { owner: principal.owner, admin: isAdmin(principal) };
}
