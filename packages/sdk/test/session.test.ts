/**
 * The session's rules, on their own: an access token about to expire is renewed before a request leaves,
 * concurrent renewals share one refresh (two refreshes with one token would look like theft to the server),
 * each rotated refresh token is reported, and a refused refresh ends the session and reports `null`.
 * The refresher here stands for `POST /api/auth/refresh`; the real route is exercised in sign-in.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { LoginResponse } from "@kai/protocol";
import { KaiApiError, type SessionTokens } from "@kai/sdk";
import { SessionCredentials } from "../src/session.js";

function answer(n: number, expiresIn = 900): LoginResponse {
  return {
    accessToken: `access-${n}`,
    refreshToken: `refresh-${n}`,
    tokenType: "Bearer",
    expiresIn,
    accessExpiresAt: "2030-01-01T00:15:00.000Z",
    sessionExpiresAt: "2030-01-02T00:00:00.000Z",
    sessionId: "s1",
    user: { id: "u1", username: "ada", kind: "person", roles: ["viewer"] },
    scopes: ["services:read"],
  };
}

function session(init: ConstructorParameters<typeof SessionCredentials>[0], now: () => number) {
  const reported: (SessionTokens | null)[] = [];
  const presented: string[] = [];
  let next = 1;
  let refuse = false;
  const credentials = new SessionCredentials(
    init,
    async (refreshToken) => {
      presented.push(refreshToken ?? "(cookie)");
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (refuse) throw new KaiApiError({ status: 401, code: "session_revoked", message: "revoked" });
      return answer(next++);
    },
    (tokens) => void reported.push(tokens),
    now,
  );
  return { credentials, reported, presented, refuseFromNowOn: () => (refuse = true) };
}

describe("SessionCredentials", () => {
  it("sends a fixed token as it is and never refreshes without a refresh token", async () => {
    const { credentials, presented } = session({ token: "api-token" }, () => 0);
    expect(await credentials.authorize("GET")).toEqual({ authorization: "Bearer api-token" });
    expect(await credentials.renew("api-token")).toBe(false);
    expect(presented).toEqual([]);
  });

  it("renews an access token that expires within the margin before the request leaves, and reports the rotation", async () => {
    let clock = Date.parse("2030-01-01T00:00:00Z");
    const { credentials, reported, presented } = session(
      { token: "old-access", refreshToken: "refresh-0", accessExpiresAt: new Date(clock + 10_000).toISOString() },
      () => clock,
    );
    expect(await credentials.authorize("GET")).toEqual({ authorization: "Bearer access-1" });
    expect(presented).toEqual(["refresh-0"]);
    expect(reported).toEqual([
      { accessToken: "access-1", refreshToken: "refresh-1", accessExpiresAt: new Date(clock + 900_000).toISOString(), sessionExpiresAt: "2030-01-02T00:00:00.000Z" },
    ]);
    // Still fresh: no second refresh.
    clock += 60_000;
    expect(await credentials.authorize("POST")).toEqual({ authorization: "Bearer access-1" });
    expect(presented).toHaveLength(1);
  });

  it("shares one refresh between concurrent renewals, and a request that used an older token just retries", async () => {
    const { credentials, presented } = session({ token: "access-0", refreshToken: "refresh-0" }, () => 0);
    const results = await Promise.all([credentials.renew("access-0"), credentials.renew("access-0"), credentials.renew("access-0")]);
    expect(results).toEqual([true, true, true]);
    expect(presented).toEqual(["refresh-0"]);
    // A request sent with access-0 that is refused after the renewal retries with access-1 without refreshing.
    expect(await credentials.renew("access-0")).toBe(true);
    expect(presented).toHaveLength(1);
    expect(credentials.currentRefreshToken()).toBe("refresh-1");
  });

  it("ends the session and reports null when the refresh is refused", async () => {
    const { credentials, reported, refuseFromNowOn } = session({ token: "access-0", refreshToken: "refresh-0" }, () => 0);
    refuseFromNowOn();
    await expect(credentials.renew("access-0")).rejects.toMatchObject({ code: "session_revoked" });
    expect(reported).toEqual([null]);
    expect(credentials.currentRefreshToken()).toBeUndefined();
    expect(await credentials.authorize("GET")).toEqual({});
  });

  it("sends a cookie session's CSRF token on writes only", async () => {
    const { credentials } = session({}, () => 0);
    await credentials.adopt({ ...answer(1), accessToken: undefined, refreshToken: undefined, csrfToken: "csrf-1" });
    expect(await credentials.authorize("GET")).toEqual({});
    expect(await credentials.authorize("DELETE")).toEqual({ "x-csrf-token": "csrf-1" });
  });
});
