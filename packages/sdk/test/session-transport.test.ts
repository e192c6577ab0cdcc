/**
 * The transport's half of sessions against a small real HTTP server: a 401 `unauthorized` to a session's
 * access token renews it once (the refresh goes without a bearer token) and repeats the request; a refused
 * refresh surfaces its own code; a fixed token is never "renewed"; other 401 codes are not retried.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KaiApiError, createClient, type SessionTokens } from "@kai/sdk";

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A server that accepts only `access-<n>` with the current n, and rotates on refresh while `refreshOk`. */
async function sessionServer(options: { refreshOk: boolean; refusalCode?: string }) {
  // (refusalCode: what a stale access token gets; the real server says `unauthorized` or `session_revoked`.)
  const seen: Seen[] = [];
  let current = 1;
  const reply = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      seen.push({ method: request.method ?? "", url: request.url ?? "", authorization: request.headers.authorization, body });
      if (request.url === "/api/auth/refresh") {
        if (!options.refreshOk) return reply(response, 401, { error: { code: "session_revoked", message: "the session was revoked" } });
        current += 1;
        return reply(response, 200, {
          accessToken: `access-${current}`,
          refreshToken: `refresh-${current}`,
          tokenType: "Bearer",
          expiresIn: 900,
          accessExpiresAt: "2030-01-01T00:15:00.000Z",
          sessionExpiresAt: "2030-01-02T00:00:00.000Z",
          sessionId: "s1",
          user: { id: "u1", username: "ada", kind: "person", roles: ["viewer"] },
          scopes: ["services:read"],
        });
      }
      if (request.headers.authorization !== `Bearer access-${current}`) {
        return reply(response, 401, { error: { code: options.refusalCode ?? "unauthorized", message: "the token has expired" } });
      }
      return reply(response, 200, { owner: "ada", tokenId: "t", scopes: ["services:read"], expiresAt: "2030-01-01T00:15:00.000Z", via: "session" });
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("session renewal through the transport", () => {
  it("renews after a 401 unauthorized, repeats the request, and reports the rotated refresh token", async () => {
    const { url, seen } = await sessionServer({ refreshOk: true });
    const reported: (SessionTokens | null)[] = [];
    const client = createClient({ url, token: "access-1-stale", refreshToken: "refresh-1", onTokens: (tokens) => void reported.push(tokens) });
    expect((await client.auth.validate()).owner).toBe("ada");
    expect(seen.map((request) => `${request.method} ${request.url} ${request.authorization ?? "-"}`)).toEqual([
      "GET /api/auth/validate Bearer access-1-stale",
      "POST /api/auth/refresh -",
      "GET /api/auth/validate Bearer access-2",
    ]);
    expect(JSON.parse(seen[1]!.body)).toEqual({ refreshToken: "refresh-1" });
    expect(reported.map((tokens) => tokens?.refreshToken)).toEqual(["refresh-2"]);
  });

  it("surfaces the refused refresh's code and reports the end of the session", async () => {
    const { url } = await sessionServer({ refreshOk: false });
    const reported: (SessionTokens | null)[] = [];
    const client = createClient({ url, token: "stale", refreshToken: "refresh-1", onTokens: (tokens) => void reported.push(tokens) });
    const error = await client.auth.validate().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(KaiApiError);
    expect((error as KaiApiError).code).toBe("session_revoked");
    expect(reported).toEqual([null]);
  });

  it("does not retry a fixed token, nor a 401 that is not about the token", async () => {
    const fixed = await sessionServer({ refreshOk: true });
    const error = await createClient({ url: fixed.url, token: "api-token" }).auth.validate().catch((reason: unknown) => reason);
    expect((error as KaiApiError).code).toBe("unauthorized");
    expect(fixed.seen).toHaveLength(1);

    const other = await sessionServer({ refreshOk: true, refusalCode: "invalid_credentials" });
    const refused = await createClient({ url: other.url, token: "stale", refreshToken: "refresh-1" }).auth.validate().catch((reason: unknown) => reason);
    expect((refused as KaiApiError).code).toBe("invalid_credentials");
    expect(other.seen).toHaveLength(1);
  });

  it("after session_revoked, asks once more and ends the session when the refresh is refused as well", async () => {
    const { url, seen } = await sessionServer({ refreshOk: false, refusalCode: "session_revoked" });
    const reported: (SessionTokens | null)[] = [];
    const client = createClient({ url, token: "revoked", refreshToken: "refresh-1", onTokens: (tokens) => void reported.push(tokens) });
    const error = await client.auth.validate().catch((reason: unknown) => reason);
    expect((error as KaiApiError).code).toBe("session_revoked");
    expect(seen.map((request) => request.url)).toEqual(["/api/auth/validate", "/api/auth/refresh"]);
    expect(reported).toEqual([null]);
  });
});
