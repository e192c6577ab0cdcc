/**
 * @module auth/sso/claim-mapping
 * Turns the claims a provider vouched for (ID token, then UserInfo) into what the node needs: the subject it links
 * users by, a username and display name for a user created at first sign-in, whether the email domain is allowed,
 * and the roles (`roleMap` over the roles claim, plus `defaultRoles`). Pure functions: the provider's configuration
 * and the claims in, a verdict out; every refusal carries a message fit for the person signing in.
 */
import { UsernameSchema } from "@kai/protocol";
import type { SsoProvider } from "../../config/sso-config.js";

export type Claims = Record<string, unknown>;

/** The value at a dotted claim path (`realm_access.roles`), or undefined. A claim whose own name has a dot is read first. */
export function claimAt(claims: Claims, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let current: unknown = claims;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** A claim's string values: a string (also space- or comma-separated, as some providers send groups), or a list of strings. */
function stringValues(value: unknown): string[] {
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return [];
}

/** The node's subject for a provider's user: `<providerId>|<sub>`, stable across renames on either side. */
export function ssoSubjectOf(provider: SsoProvider, sub: string): string {
  return `${provider.id}|${sub}`;
}

/** The roles the claims give: every mapped claim value's role(s), then the default roles; sorted, without repeats. */
export function rolesFromClaims(provider: SsoProvider, claims: Claims): string[] {
  const roles = new Set<string>(provider.defaultRoles);
  if (provider.claims.roles !== undefined) {
    for (const value of stringValues(claimAt(claims, provider.claims.roles))) {
      if (!Object.hasOwn(provider.roleMap, value)) continue;
      const mapped = provider.roleMap[value];
      for (const role of Array.isArray(mapped) ? mapped : [mapped]) if (role !== undefined) roles.add(role);
    }
  }
  return [...roles].sort();
}

/** What a refusal says: the reason recorded in the security log and the message the person sees. */
export interface ClaimRefusal {
  reason: "missing_username" | "invalid_username" | "domain_not_allowed" | "email_unverified";
  message: string;
}

/** The username a new user gets from the claims, or a refusal. */
export function usernameFromClaims(provider: SsoProvider, claims: Claims): { username: string } | ClaimRefusal {
  const value = claimAt(claims, provider.claims.username);
  if (typeof value !== "string" || value === "") {
    return { reason: "missing_username", message: `the provider sent no "${provider.claims.username}" claim to take the username from` };
  }
  if (!UsernameSchema.safeParse(value).success) {
    return { reason: "invalid_username", message: `the provider's "${provider.claims.username}" claim is not a valid username (letters, digits and . _ : @ -)` };
  }
  return { username: value };
}

/** The display name from the claims, bounded; null when absent. */
export function displayNameFromClaims(provider: SsoProvider, claims: Claims): string | null {
  const value = claimAt(claims, provider.claims.displayName);
  return typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, 200) : null;
}

/**
 * With `allowedDomains`, the email claim must be present, verified (`email_verified` not false: a provider that lets
 * people type any address must not open the door) and in one of the domains (exact, case-insensitive). Null: allowed.
 */
export function domainRefusal(provider: SsoProvider, claims: Claims): ClaimRefusal | null {
  if (provider.allowedDomains === undefined) return null;
  const email = claimAt(claims, provider.claims.email);
  const at = typeof email === "string" ? email.lastIndexOf("@") : -1;
  if (typeof email !== "string" || at < 1) return { reason: "domain_not_allowed", message: "this provider only admits accounts of certain email domains, and it sent no email address" };
  if (claims.email_verified === false) return { reason: "email_unverified", message: "the provider says this email address is not verified" };
  const domain = email.slice(at + 1).toLowerCase();
  if (!provider.allowedDomains.some((allowed) => allowed.toLowerCase() === domain)) {
    return { reason: "domain_not_allowed", message: `accounts of the domain ${domain} may not sign in here` };
  }
  return null;
}

/**
 * Whether the provider says the person used more than one factor: the RFC 8176 `amr` value `mfa`. Only that one: a
 * lone `otp` or `hwk` may have been the only factor, and a session is marked `mfa` only when it surely was more.
 */
export function usedSecondFactor(claims: Claims): boolean {
  return stringValues(claims.amr).includes("mfa");
}
