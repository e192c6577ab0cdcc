/**
 * @module test/browser/pages
 * What the browser tests do in a page, written once: the list of the app's pages (from the app's own view list,
 * so a new view is covered without touching the tests), signing in through the sign-in form, axe-core on the
 * current page, a passkey on a CDP virtual authenticator, and collecting what the Content Security Policy refused.
 * Everything is found by role and accessible name, as a person (or a screen reader) finds it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { BrowserContext, CDPSession, Page } from "playwright-core";
import { VIEWS } from "../../src/app/views";
import type { KaiNode } from "./harness";

/** Every page of the app: each view's path, and the pages below them that the tests create data for. */
export function appPages(extra: { name: string; path: string }[] = []): { name: string; path: string }[] {
  return [...VIEWS.map((view) => ({ name: view.label, path: `/${view.path}` })), ...extra];
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core on the page as it is now: the serious and critical violations (what the issue forbids). Injected over
 * the DevTools protocol, which the page's CSP does not govern, so the app's own policy stays in force.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${JSON.stringify(n.target)}: ${(n.failureSummary ?? "").replace(/\s+/g, " ").slice(0, 200)}`) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** The console's CSP refusals and uncaught errors of a page, for asserting there were none. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) errors.push(`csp: ${message.text()}`);
  });
  return errors;
}

/**
 * The page's requests in flight, for waiting until its data has arrived. Playwright's `networkidle` never comes in
 * the app: the shell keeps an event stream open for as long as it is shown (notifications), so every wait for it
 * ran into its timeout. Here a request that answered with an event stream counts as settled once its headers came.
 */
export function trackRequests(page: Page): { quiet(options?: { quietMs?: number; timeoutMs?: number }): Promise<void> } {
  const pending = new Set<unknown>();
  let lastChange = Date.now();
  const settle = (request: unknown) => {
    if (pending.delete(request)) lastChange = Date.now();
  };
  page.on("request", (request) => {
    pending.add(request);
    lastChange = Date.now();
  });
  page.on("response", (response) => {
    if (/^text\/event-stream/i.test(response.headers()["content-type"] ?? "")) settle(response.request());
  });
  page.on("requestfinished", settle);
  page.on("requestfailed", settle);
  return {
    /** Resolves once no request has been in flight for `quietMs` (as `networkidle`: 500 ms), or after `timeoutMs`. */
    async quiet({ quietMs = 500, timeoutMs = 2000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && (pending.size > 0 || Date.now() - lastChange < quietMs)) await new Promise((done) => setTimeout(done, 50));
    },
  };
}

/** Signs in through the form and waits for the app's shell (its main navigation). */
export async function signIn(page: Page, node: KaiNode, username: string, password: string, path = "/"): Promise<void> {
  await page.goto(node.url + path);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
}

/**
 * Goes to `path` inside the running app, as its own links do (history + popstate: the router follows), without
 * reloading the page: faster than `page.goto`, and the session and caches stay as a person's would.
 */
export async function goInApp(page: Page, path: string): Promise<void> {
  const newPage = await page.evaluate((to) => {
    // A different page: mark the heading being left, so that waiting for the next page's heading does not find
    // it (the same page with other query parameters keeps its heading).
    const changes = new URL(to, window.location.href).pathname !== window.location.pathname;
    if (changes) document.querySelector("h1")?.setAttribute("data-left", "");
    window.history.pushState(null, "", to);
    window.dispatchEvent(new PopStateEvent("popstate"));
    return changes;
  }, path);
  if (newPage) await page.locator("h1:not([data-left])").first().waitFor({ timeout: 15_000 });
}

/** Waits until the page's single <h1> reads `title` (the view's lazy chunk loaded and rendered). */
export async function waitForHeading(page: Page, title: string | RegExp): Promise<void> {
  await page.getByRole("heading", { level: 1, name: title }).waitFor({ timeout: 15_000 });
}

/**
 * Counts how a signed-in person who may not use the page `name` (at `path`) still meets it: its link in the main
 * navigation, and its <h1> when they type its address (the app must say "Not available" instead). Both must be 0.
 */
export async function hiddenPageSightings(page: Page, node: KaiNode, name: string, path: string): Promise<{ links: number; headings: number }> {
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Services" }).waitFor();
  const links = await nav.getByRole("link", { name }).count();
  await page.goto(`${node.url}${path}`);
  await waitForHeading(page, "Not available");
  return { links, headings: await page.getByRole("heading", { level: 1, name }).count() };
}

/** A platform authenticator that holds resident keys and verifies its user (a passkey), on this page's target. */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

/**
 * Registers a passkey for the user behind `accessToken`: the node's options, `navigator.credentials.create()` in
 * the page (on the virtual authenticator; the page must be on the node's origin), the answer back to the node.
 */
export async function registerPasskey(page: Page, node: KaiNode, accessToken: string): Promise<void> {
  const { challengeId, options } = await node.api<{ challengeId: string; options: unknown }>("/api/users/me/passkeys/options", { json: {}, token: accessToken });
  const response = await page.evaluate(async (json) => {
    const PKC = PublicKeyCredential as unknown as { parseCreationOptionsFromJSON(json: unknown): PublicKeyCredentialCreationOptions };
    const credential = (await navigator.credentials.create({ publicKey: PKC.parseCreationOptionsFromJSON(json) })) as PublicKeyCredential & { toJSON(): unknown };
    return credential.toJSON();
  }, options);
  await node.api("/api/users/me/passkeys", { json: { challengeId, response, name: "virtual authenticator" }, token: accessToken });
}

/** Signs a user in through the API (token mode): their session's access token, for setting things up. */
export async function apiSession(node: KaiNode, username: string, password: string): Promise<string> {
  const session = await node.api<{ accessToken: string }>("/api/auth/login", { json: { username, password }, token: null });
  return session.accessToken;
}
