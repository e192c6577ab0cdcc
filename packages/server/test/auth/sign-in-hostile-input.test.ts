/**
 * Hostile input on the public sign-in routes (issue 14): they take no token, so the shared hostile-input walk (which
 * walks the protected routes) does not reach them. Malformed, oversized, deeply nested, wrongly typed and
 * ill-formed bodies, refresh tokens and cookies are answered with a 4xx error body, never a 5xx or a stack trace,
 * and the node stays healthy.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";
import { leaksStackTrace } from "../http/support/api-surface.js";
import { startSignInServer } from "./sign-in-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startSignInServer();
});
afterAll(async () => server.dispose());

const ROUTES = ["/api/auth/login", "/api/auth/refresh", "/api/auth/logout"];

async function post(path: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }): Promise<{ status: number; text: string }> {
  const response = await fetch(server.url + path, { method: "POST", headers, body });
  return { status: response.status, text: await response.text() };
}

function expectRefused(answer: { status: number; text: string }, what: string): void {
  expect(answer.status, `${what} → ${answer.text.slice(0, 200)}`).toBeLessThan(500);
  expect(leaksStackTrace(answer.text), what).toBe(false);
  if (answer.status >= 400) expect(ErrorBodySchema.safeParse(JSON.parse(answer.text)).success, what).toBe(true);
}

describe("hostile input on the sign-in routes", () => {
  it("fixed hostile bodies are refused with 4xx", async () => {
    const bodies = [
      "", "{", "null", "[]", "42", '"text"', "{}", '{"username":1,"password":[]}', '{"username":"a","password":"b","mode":"both"}',
      `{"username":"${"a".repeat(100_000)}","password":"x"}`, '{"username":"a\\ud800","password":"b"}', `${"[".repeat(5000)}${"]".repeat(5000)}`,
      '{"refreshToken":"00000000-0000-4000-8000-000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}', '{"refreshToken":"../../etc/passwd"}',
      '{"did":"did:key:zzz","challengeId":"x","signature":"y"}', '{"__proto__":{"admin":true},"username":"a","password":"b"}',
    ];
    for (const path of ROUTES) for (const body of bodies) expectRefused(await post(path, body), `${path} ${body.slice(0, 60)}`);
    for (const path of ROUTES) expectRefused(await post(path, "\xff\xfe", { "content-type": "application/json" }), `${path} not UTF-8`);
    for (const path of ROUTES) expectRefused(await post(path, "username=a", { "content-type": "application/x-www-form-urlencoded" }), `${path} form`);
  });

  it("arbitrary JSON and cookie values are refused with 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.json(), async (path, body) => expectRefused(await post(path, body), `${path} ${body.slice(0, 80)}`)),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/api/auth/refresh", "/api/auth/logout", "/api/auth/validate"), fc.string({ maxLength: 300 }), async (path, value) => {
        const cookie = `kai_refresh=${encodeURIComponent(value)}; kai_access=${encodeURIComponent(value)}`;
        const response = await fetch(server.url + path, { method: path.endsWith("validate") ? "GET" : "POST", headers: { cookie } });
        expectRefused({ status: response.status, text: await response.text() }, `${path} cookie ${value.slice(0, 40)}`);
      }),
      { numRuns: 60 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
