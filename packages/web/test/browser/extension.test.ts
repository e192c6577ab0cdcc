/**
 * The Chrome MV3 extension, loaded unpacked into a real Chromium (headless=new runs extensions) and pointed at
 * the built node: the user sets the node's address, signs in (token mode: the session in chrome.storage.local,
 * no cookies), sees services and status in the popup, the chosen service in the side panel, the app in a tab.
 * The extension's pages are opened as tabs (a headless browser has no toolbar to click).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { extensionBuild, findChromium, launchWithExtension, serviceRecord, startNode, type KaiNode } from "./harness";
import { seriousViolations, watchPageErrors } from "./pages";

const chromiumPath = findChromium();

/** An unpacked extension's id: the SHA-256 of its folder's path, first 32 hex digits spelled a–p. */
function unpackedExtensionId(path: string): string {
  const hex = createHash("sha256").update(path).digest("hex").slice(0, 32);
  return [...hex].map((digit) => String.fromCharCode("a".charCodeAt(0) + parseInt(digit, 16))).join("");
}

describe.skipIf(chromiumPath === undefined)("the browser extension", () => {
  let node: KaiNode;
  let browser: { context: BrowserContext; close(): Promise<void> };
  let base: string;

  beforeAll(async () => {
    const extension = await extensionBuild();
    [node, browser] = await Promise.all([startNode(), launchWithExtension(extension)]);
    base = `chrome-extension://${unpackedExtensionId(extension)}`;
    await Promise.all([
      node.createUser("ada", "ada's long password", ["admin"]),
      node.api("/api/services/register", { json: serviceRecord("chat-ext", { name: "Chat for the extension" }) }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  const storedSession = (page: Page) =>
    page.evaluate(async () => {
      const api = (globalThis as unknown as { chrome: { storage: { local: { get(keys: string[]): Promise<Record<string, unknown>> } } } }).chrome;
      return (await api.storage.local.get(["kai.session"]))["kai.session"] as { refreshToken?: string } | undefined;
    });

  it("connects to the node the user names, signs in with the session in extension storage, and lists services with their status", async () => {
    const page = await browser.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${base}/popup.html`);
    await page.getByRole("heading", { name: "Connect to a kAI node" }).waitFor();
    await page.getByLabel("Node address").fill("not an address");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Enter the node's address").waitFor();
    await page.getByLabel("Node address").fill(node.url);
    await page.getByRole("button", { name: "Connect" }).click();

    await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
    await page.getByLabel("Username").fill("ada");
    await page.getByLabel("Password", { exact: true }).fill("ada's long password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();

    const services = page.getByRole("list", { name: "Services" });
    await services.getByText("Chat for the extension").waitFor({ timeout: 15_000 });
    await page.getByText(/Version .*1 services/).waitFor();
    expect((await storedSession(page))?.refreshToken).toEqual(expect.any(String));
    expect(await browser.context.cookies(node.url)).toEqual([]);
    expect(await seriousViolations(page)).toEqual([]);

    // The session outlives the page: a new popup is signed in at once.
    await page.reload();
    await services.getByText("Chat for the extension").waitFor({ timeout: 15_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows the service chosen in the popup in the side panel, and follows a new choice", async () => {
    const panel = await browser.context.newPage();
    const errors = watchPageErrors(panel);
    await panel.goto(`${base}/sidepanel.html`);
    await panel.getByRole("heading", { name: "Choose a service" }).waitFor({ timeout: 15_000 });

    const popup = await browser.context.newPage();
    await popup.goto(`${base}/popup.html`);
    await popup.getByRole("button", { name: "Show: Chat for the extension" }).click();

    await panel.getByRole("heading", { level: 1, name: /chat-ext|Chat for the extension/ }).waitFor({ timeout: 15_000 });
    expect(await seriousViolations(panel)).toEqual([]);
    await panel.getByRole("button", { name: "All services" }).click();
    await panel.getByRole("heading", { name: "Choose a service" }).waitFor();
    expect(errors).toEqual([]);
    await Promise.all([panel.close(), popup.close()]);
  }, 60_000);

  it("opens the whole app in a tab, signed in with the same session", async () => {
    const popup = await browser.context.newPage();
    await popup.goto(`${base}/popup.html`);
    const [tab] = await Promise.all([browser.context.waitForEvent("page"), popup.getByRole("button", { name: "Open the full app" }).click()]);
    await tab.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
    await tab.getByRole("link", { name: "Services" }).click();
    await tab.getByRole("heading", { level: 1, name: "Services" }).waitFor();
    await Promise.all([tab.close(), popup.close()]);
  }, 60_000);

  it("has an options page (the manifest's) with the node's address", async () => {
    const popup = await browser.context.newPage();
    await popup.goto(`${base}/popup.html`);
    const [options] = await Promise.all([
      browser.context.waitForEvent("page"),
      popup.evaluate(() => (globalThis as unknown as { chrome: { runtime: { openOptionsPage(): Promise<void> } } }).chrome.runtime.openOptionsPage()),
    ]);
    await options.getByRole("heading", { name: "Connect to a kAI node" }).waitFor();
    expect(await options.getByLabel("Node address").inputValue()).toBe(node.url);
    await Promise.all([options.close(), popup.close()]);
  }, 30_000);

  it("signs out: the stored session is gone and the popup asks to sign in", async () => {
    const popup = await browser.context.newPage();
    await popup.goto(`${base}/popup.html`);
    await popup.getByRole("button", { name: "Sign out" }).click();
    await popup.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
    await expect.poll(() => storedSession(popup)).toBeUndefined();
    await popup.close();
  }, 30_000);

  it("changes node: ends the session on the old node first, then asks for an address", async () => {
    const popup = await browser.context.newPage();
    await popup.goto(`${base}/popup.html`);
    await popup.getByLabel("Username").fill("ada");
    await popup.getByLabel("Password", { exact: true }).fill("ada's long password");
    await popup.getByRole("button", { name: "Sign in", exact: true }).click();
    await popup.getByRole("button", { name: "Change node" }).waitFor({ timeout: 15_000 });
    const refreshToken = (await storedSession(popup))?.refreshToken;
    expect(refreshToken).toEqual(expect.any(String));
    await popup.getByRole("button", { name: "Change node" }).click();
    await popup.getByRole("heading", { name: "Connect to a kAI node" }).waitFor();
    await expect.poll(() => storedSession(popup)).toBeUndefined();
    await expect(node.api("/api/auth/refresh", { json: { refreshToken }, token: null })).rejects.toThrow(/401/);
    await popup.close();
  }, 30_000);
});
