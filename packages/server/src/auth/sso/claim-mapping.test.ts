import { describe, expect, it } from "vitest";
import { SsoProviderSchema } from "../../config/sso-config.js";
import { claimAt, domainRefusal, rolesFromClaims, ssoSubjectOf, usedSecondFactor, usernameFromClaims } from "./claim-mapping.js";

const provider = (extra: Record<string, unknown> = {}) =>
  SsoProviderSchema.parse({
    id: "corp",
    displayName: "Corp",
    issuer: "https://id.example.com",
    clientId: "kai",
    clientSecret: { vault: "sso/corp" },
    claims: { roles: "groups" },
    roleMap: { "kai-admins": "admin", "kai-devs": ["developer", "viewer"] },
    defaultRoles: ["viewer"],
    ...extra,
  });

describe("claim mapping", () => {
  it("maps group claims through roleMap and adds the default roles, ignoring unmapped groups", () => {
    expect(rolesFromClaims(provider(), { groups: ["kai-devs", "payroll"] })).toEqual(["developer", "viewer"]);
    expect(rolesFromClaims(provider(), { groups: "kai-admins kai-devs" })).toEqual(["admin", "developer", "viewer"]);
    expect(rolesFromClaims(provider(), {})).toEqual(["viewer"]);
    // A claim value named like an Object.prototype member maps to nothing.
    expect(rolesFromClaims(provider(), { groups: ["constructor", "toString"] })).toEqual(["viewer"]);
  });

  it("reads dotted claim paths", () => {
    const p = provider({ claims: { roles: "realm_access.roles" } });
    expect(rolesFromClaims(p, { realm_access: { roles: ["kai-admins"] } })).toEqual(["admin", "viewer"]);
    expect(claimAt({ "a.b": 1, a: { b: 2 } }, "a.b")).toBe(1);
  });

  it("takes the username from its claim and refuses a missing or malformed one", () => {
    expect(usernameFromClaims(provider(), { preferred_username: "ada" })).toEqual({ username: "ada" });
    expect(usernameFromClaims(provider(), {})).toMatchObject({ reason: "missing_username" });
    expect(usernameFromClaims(provider(), { preferred_username: "ada lovelace" })).toMatchObject({ reason: "invalid_username" });
  });

  it("admits only verified emails of the allowed domains", () => {
    const p = provider({ allowedDomains: ["example.com"] });
    expect(domainRefusal(p, { email: "ada@Example.com" })).toBeNull();
    expect(domainRefusal(p, { email: "ada@example.com.evil.test" })).toMatchObject({ reason: "domain_not_allowed" });
    expect(domainRefusal(p, { email: "ada@example.com", email_verified: false })).toMatchObject({ reason: "email_unverified" });
    expect(domainRefusal(p, {})).toMatchObject({ reason: "domain_not_allowed" });
    expect(domainRefusal(provider(), {})).toBeNull();
  });

  it("links by provider and subject, and counts only amr mfa as a second factor", () => {
    expect(ssoSubjectOf(provider(), "123")).toBe("corp|123");
    expect(usedSecondFactor({ amr: ["pwd", "mfa"] })).toBe(true);
    expect(usedSecondFactor({ amr: ["otp"] })).toBe(false);
  });
});
