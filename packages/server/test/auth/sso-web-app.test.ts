// Single sign-on as the web app uses it (issue 15): the sign-in page's button navigates the browser to the start
// address with `return=<the page's path>`; the browser comes back to that path with a cookie session, and the app,
// as after any page load, resumes it through the refresh cookie (which answers its CSRF token) and then writes
// with it. A refusal (cancelled at the provider, unknown provider) brings the person back to the sign-in page with
// the reason, not to a JSON error page; a program asking for JSON still gets JSON.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoginResponseSchema, ValidateResponseSchema } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";
import { authorizeAtProvider, TestBrowser } from "../helpers/oidc-provider.js";
import { startSsoNode, type SsoNode } from "../helpers/sso-node.js";

const SECRET_NAME = "sso/web-client";
/** What a browser sends when it navigates to a page. */
const PAGE = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

let kai: TestServer;
let sso: SsoNode | undefined;

beforeAll(async () => {
  sso = await startSsoNode({
    clientId: "kai-web",
    secretName: SECRET_NAME,
    provider: { defaultRoles: ["developer"] },
    accounts: { "u-lin": { preferred_username: "lin", name: "Lin" } },
  });
  ({ kai } = sso);
}, 60_000);

afterAll(async () => {
  await sso?.close();
});

/** The sign-in page's button: a top-level navigation to the start address. */
async function startFromPage(browser: TestBrowser, returnTo: string, provider = "corp"): Promise<Response> {
  return browser.request(`${kai.url}/api/auth/sso/${provider}/start?return=${encodeURIComponent(returnTo)}`, { headers: PAGE });
}

describe("single sign-on from the web app", () => {
  it("lands back on the page it started from with a cookie session the app resumes and writes with", async () => {
    const browser = new TestBrowser();
    const started = await startFromPage(browser, "/access");
    expect(started.status).toBe(302);
    const callback = await browser.request(await authorizeAtProvider(browser, started.headers.get("location") ?? "", "u-lin"), { headers: PAGE });
    expect(callback.status, await callback.clone().text()).toBe(302);
    expect(callback.headers.get("location")).toBe("/access");

    // The app's start after the page load: sameOriginConnection().resume() refreshes through the refresh cookie.
    const resumed = await browser.request(`${kai.url}/api/auth/refresh`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(resumed.status, await resumed.clone().text()).toBe(200);
    const session = LoginResponseSchema.parse(await resumed.json());
    expect(session.accessToken).toBeUndefined();
    expect(session.user).toMatchObject({ username: "lin" });

    const who = ValidateResponseSchema.parse(await (await browser.request(`${kai.url}/api/auth/validate`)).json());
    expect(who).toMatchObject({ via: "cookie", user: { username: "lin", roles: ["developer"] } });
    const write = await browser.request(`${kai.url}/api/users/me`, {
      method: "PATCH",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrfToken ?? "" },
      body: JSON.stringify({ preferences: { theme: "dark" } }),
    });
    expect(write.status, await write.clone().text()).toBe(200);
  });

  it("brings a person who cancels at the provider back to the sign-in page with the reason", async () => {
    const browser = new TestBrowser();
    const started = await startFromPage(browser, "/");
    const denied = await authorizeAtProvider(browser, started.headers.get("location") ?? "", "u-lin", { deny: true });
    const callback = await browser.request(denied, { headers: PAGE });
    expect(callback.status).toBe(302);
    const back = new URL(callback.headers.get("location") ?? "", kai.url);
    expect(back.pathname).toBe("/");
    expect(back.searchParams.get("sso_error")).toBe("sso_failed");
    expect(back.searchParams.get("sso_message")).toContain("cancelled");
    // No session came of it.
    expect([...browser.cookies(kai.url).keys()].filter((name) => name.includes("kai_access"))).toEqual([]);
  });

  it("brings the browser back from an unknown provider too, while a program gets the JSON error", async () => {
    const page = await startFromPage(new TestBrowser(), "/", "nope");
    expect(page.status).toBe(302);
    expect(new URL(page.headers.get("location") ?? "", kai.url).searchParams.get("sso_error")).toEqual(expect.any(String));
    const program = await fetch(`${kai.url}/api/auth/sso/nope/start?return=/`, { redirect: "manual" });
    expect(program.status).toBeGreaterThanOrEqual(400);
    expect(((await program.json()) as { error: { code: string } }).error.code).toEqual(expect.any(String));
  });
});
