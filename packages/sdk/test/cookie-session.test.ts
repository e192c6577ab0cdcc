/**
 * A browser's cookie session through the SDK against a real server (`createClient({ cookieSession: true })`, the
 * web app's tab): signing in sets HttpOnly cookies and answers no token; writes carry the session's CSRF token
 * (a write with the cookie alone is refused); when the access cookie has expired the client renews through the
 * refresh cookie, which rotates; signing out makes the refresh cookie useless.
 *
 * The "browser" here is a small cookie jar around fetch that does what a browser does with Set-Cookie (keeps,
 * replaces, drops on Max-Age, sends back). Its clock and the SDK's are the test's fake `Date`, so that "sixteen
 * minutes later" needs no waiting; the server keeps the real clock.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { KaiApiError, createClient, type KaiClient, type SessionTokens } from "@kai/sdk";
import { startRegistry, definition, type RegistryFixture } from "./helpers/registry-server.js";

interface StoredCookie {
  value: string;
  expiresAt: number;
  httpOnly: boolean;
}

/** A browser's cookie handling for one origin: enough of RFC 6265 for the session cookies. */
class CookieJar {
  readonly cookies = new Map<string, StoredCookie>();

  /** A fetch that sends the jar's cookies and keeps what the answer sets. */
  readonly fetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const cookie = this.header();
    if (cookie !== "") headers.set("cookie", cookie);
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) this.take(line);
    return response;
  };

  get(name: string): string | undefined {
    this.expire();
    return this.cookies.get(name)?.value;
  }

  header(): string {
    this.expire();
    return [...this.cookies].map(([name, cookie]) => `${name}=${cookie.value}`).join("; ");
  }

  private take(line: string): void {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const equals = pair.indexOf("=");
    const name = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    let expiresAt = Number.POSITIVE_INFINITY;
    let httpOnly = false;
    for (const attribute of attributes) {
      const [key = "", raw = ""] = attribute.split("=");
      if (key.toLowerCase() === "max-age") expiresAt = Date.now() + Number(raw) * 1000;
      if (key.toLowerCase() === "expires" && !attributes.some((a) => a.toLowerCase().startsWith("max-age"))) expiresAt = Date.parse(raw);
      if (key.toLowerCase() === "httponly") httpOnly = true;
    }
    if (value === "" || expiresAt <= Date.now()) this.cookies.delete(name);
    else this.cookies.set(name, { value, expiresAt, httpOnly });
  }

  private expire(): void {
    for (const [name, cookie] of this.cookies) if (cookie.expiresAt <= Date.now()) this.cookies.delete(name);
  }
}

const PASSWORD = "cora's long enough password";
let registry: RegistryFixture;

beforeAll(async () => {
  registry = await startRegistry({ auth: { signIn: { password: { memoryKiB: 1024, iterations: 1 } } } });
  await registry.admin.users.create({ username: "cora", password: PASSWORD, roles: ["developer"] });
});
afterAll(async () => {
  await registry?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A tab: a cookie jar, and the SDK in cookie mode over it, signed in as cora. */
async function signedInTab(): Promise<{ jar: CookieJar; client: KaiClient; reported: (SessionTokens | null)[] }> {
  const jar = new CookieJar();
  const reported: (SessionTokens | null)[] = [];
  const client = createClient({ url: registry.url, cookieSession: true, fetch: jar.fetch, onTokens: (tokens) => void reported.push(tokens) });
  const answer = await client.auth.login({ username: "cora", password: PASSWORD, mode: "cookie" });
  // No token reaches the page: they are HttpOnly cookies; the body has the CSRF token only.
  expect(answer.accessToken).toBeUndefined();
  expect(answer.refreshToken).toBeUndefined();
  expect(answer.csrfToken).toEqual(expect.any(String));
  expect(jar.cookies.get("kai_access")?.httpOnly).toBe(true);
  expect(jar.cookies.get("kai_refresh")?.httpOnly).toBe(true);
  return { jar, client, reported };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KaiApiError);
  return (error as KaiApiError).code;
}

describe("a cookie session", () => {
  it("reads and writes with the cookies; a write carries the CSRF token, without which the same cookies are refused", async () => {
    const { jar, client, reported } = await signedInTab();
    expect(await client.auth.validate()).toMatchObject({ user: { username: "cora" }, via: "cookie" });
    const { created } = await client.services.register(definition("cookie-written"));
    expect(created).toBe(true);

    // The same cookies without the header (what a forged cross-site form would send): refused.
    const forged = await jar.fetch(`${registry.url}/api/services/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(definition("cookie-forged")),
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
    expect(await codeOf(registry.admin.services.get("cookie-forged"))).toBe("not_found");
    // Cookie mode never reports tokens to the page.
    expect(reported).toEqual([]);
  });

  it("renews through the refresh cookie once the access cookie has expired, and the refresh cookie rotates", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const { jar, client } = await signedInTab();
    const firstRefresh = jar.get("kai_refresh");

    // Sixteen minutes on: the browser has dropped the access cookie (Max-Age 900 s).
    vi.setSystemTime(Date.now() + 16 * 60_000);
    expect(jar.get("kai_access")).toBeUndefined();
    expect(await client.auth.validate()).toMatchObject({ user: { username: "cora" } });
    expect(jar.get("kai_access")).toEqual(expect.any(String));
    expect(jar.get("kai_refresh")).not.toBe(firstRefresh);
    // Writes go on with the renewed session (the CSRF token is the session's, unchanged by renewal).
    expect((await client.services.register(definition("cookie-after-renewal"))).created).toBe(true);

  });

  it("renews when the server answers 401 to a request that went without a live access cookie", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const { jar, client } = await signedInTab();
    // The browser lost the access cookie (cleared, or expired by its own clock) while the client still thinks it is
    // fresh: the request goes with the refresh cookie only, the server answers 401, the client renews and retries.
    jar.cookies.delete("kai_access");
    vi.setSystemTime(Date.now() + 6_000); // past the window in which a 401 reuses the last renewal's cookie
    expect((await client.services.list({ limit: 1 })).services).toEqual(expect.any(Array));
    expect(jar.get("kai_access")).toEqual(expect.any(String));
  });

  it("signs out: the cookies are cleared, the session ends here and its refresh cookie is refused", async () => {
    const { jar, client } = await signedInTab();
    const refresh = jar.get("kai_refresh");
    await client.auth.logout();
    expect(jar.get("kai_access")).toBeUndefined();
    expect(jar.get("kai_refresh")).toBeUndefined();
    const again = await fetch(`${registry.url}/api/auth/refresh`, { method: "POST", headers: { cookie: `kai_refresh=${refresh}`, "content-type": "application/json" }, body: "{}" });
    expect(again.status).toBe(401);
    expect(await codeOf(client.auth.validate())).toBe("unauthorized");
  });
});
