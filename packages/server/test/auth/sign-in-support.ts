/**
 * Helpers of the sign-in tests: a server with a cheap argon2id cost (the cost itself is not under test here), the
 * first admin's one-time password, and signing in through the API.
 */
import { readFileSync } from "node:fs";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import type { StartServerOptions } from "../../src/server.js";
import { mergeSettings } from "../../src/config/load-config.js";

/**
 * argon2id at its minimum cost (tests sign in many times; the cost is not under test here) and a roomy `auth` tier
 * (its limit has its own tests, test/auth/throttle-*).
 */
export const SIGN_IN_TEST_CONFIG = {
  auth: { signIn: { password: { memoryKiB: 1024, iterations: 1, parallelism: 1 } } },
  rateLimit: { auth: { max: 10_000 }, global: { max: 100_000 } },
};

export async function startSignInServer(options: StartServerOptions = {}): Promise<TestServer> {
  return startTestServer({ ...options, config: mergeSettings(SIGN_IN_TEST_CONFIG, options.config ?? {}) as StartServerOptions["config"] });
}

export interface LoginAnswer {
  status: number;
  body: Record<string, unknown> & { accessToken?: string; refreshToken?: string; csrfToken?: string; sessionId?: string; error?: { code: string; message: string } };
  headers: Headers;
}

export async function login(server: TestServer, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<LoginAnswer> {
  const response = await server.request("/api/auth/login", { method: "POST", json: body, token: null, headers });
  return { status: response.status, body: (await response.json()) as LoginAnswer["body"], headers: response.headers };
}

/** Creates a person with a password through the admin API; returns its id. */
export async function createUser(server: TestServer, username: string, password: string, roles: string[] = []): Promise<string> {
  const response = await server.request("/api/users", { method: "POST", json: { username, password, roles } });
  if (response.status !== 201) throw new Error(`creating ${username} failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Signs in and answers the tokens (token mode); throws on anything but 200. */
export async function signIn(server: TestServer, username: string, password: string): Promise<{ accessToken: string; refreshToken: string; sessionId: string }> {
  const answer = await login(server, { username, password });
  if (answer.status !== 200) throw new Error(`sign-in of ${username} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { accessToken: answer.body.accessToken!, refreshToken: answer.body.refreshToken!, sessionId: answer.body.sessionId! };
}

export function firstAdminPassword(server: TestServer): string {
  if (!server.firstAdminPasswordPath) throw new Error("this start created no first admin");
  return readFileSync(server.firstAdminPasswordPath, "utf8").trim();
}
