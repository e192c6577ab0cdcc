/**
 * Passkeys in a real Chromium against the built node, on a CDP virtual authenticator (a platform authenticator
 * that holds resident keys and verifies its user): a passkey as the second factor after a password, a passkey
 * that is someone else's refused at that step, and a passkey added through Settings, used to sign in, listed there
 * and removed (the change confirmed with the passkey itself).
 * One browser for the file; a fresh context (own cookies, own authenticator) per test. Every person here has
 * their own account: once someone has a passkey, their password alone no longer lets them in.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { findChromium, launchBrowser, startNode, type KaiNode } from "./harness";
import { addVirtualAuthenticator, apiSession, goInApp, registerPasskey, signIn, waitForHeading, watchPageErrors } from "./pages";

const chromiumPath = findChromium();

const PASSWORDS = { sam: "sam's long password", lee: "lee's long password", kim: "kim's long password", eve: "eve's long password" } as const;
type Person = keyof typeof PASSWORDS;

describe.skipIf(chromiumPath === undefined)("passkeys in the web app", () => {
  let node: KaiNode;
  let browser: Browser;

  beforeAll(async () => {
    [node, browser] = await Promise.all([startNode(), launchBrowser()]);
    await Promise.all((Object.keys(PASSWORDS) as Person[]).map((name) => node.createUser(name, PASSWORDS[name], ["developer"])));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  /** A fresh context with a virtual authenticator on its page, the page on the node's origin (the passkeys' site). */
  async function pageWithAuthenticator(): Promise<{ page: Page; errors: string[]; clearAuthenticator(): Promise<void>; close(): Promise<void> }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);
    await page.goto(node.url);
    const clearAuthenticator = async () => {
      await cdp.send("WebAuthn.clearCredentials", { authenticatorId });
    };
    return { page, errors, clearAuthenticator, close: () => context.close() };
  }

  /** The sign-in form's first step; the node then asks for a second factor (the page says whose). */
  async function passwordStep(page: Page, name: Person): Promise<void> {
    await page.getByLabel("Username").fill(name);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORDS[name]);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: `Second factor for ${name}` }).waitFor({ timeout: 15_000 });
  }

  async function signedInAs(page: Page, name: Person): Promise<void> {
    await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId("signed-in-as").textContent()).toBe(name);
  }

  it("asks for the second factor after the password, and lets the person in with their passkey", async () => {
    const { page, errors, close } = await pageWithAuthenticator();
    try {
      await registerPasskey(page, node, await apiSession(node, "sam", PASSWORDS.sam));
      await page.reload();
      await passwordStep(page, "sam");
      // The password alone did not open the app.
      expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
      await page.getByRole("button", { name: "Use a passkey instead" }).click();
      await signedInAs(page, "sam");
      // The session outlives a reload (cookies), so the factor was not a one-page thing.
      await page.reload();
      await signedInAs(page, "sam");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 45_000);

  it("refuses, at the second-factor step, a passkey that belongs to someone else", async () => {
    const { page, errors, clearAuthenticator, close } = await pageWithAuthenticator();
    try {
      // lee has a passkey, but not on this authenticator any more: it holds only kim's.
      await registerPasskey(page, node, await apiSession(node, "lee", PASSWORDS.lee));
      await clearAuthenticator();
      await registerPasskey(page, node, await apiSession(node, "kim", PASSWORDS.kim));
      await page.reload();
      await passwordStep(page, "lee");
      await page.getByRole("button", { name: "Use a passkey instead" }).click();
      // The node refused it (its code, not a browser-side failure to produce an assertion).
      const alert = page.getByRole("alert").filter({ hasText: "Could not sign in" });
      await alert.waitFor({ timeout: 15_000 });
      expect(await alert.textContent()).toContain("code invalid_credentials");
      expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
      expect(await page.getByRole("heading", { name: "Second factor for lee" }).count()).toBe(1);
      // The passkey is good for its own person.
      await page.getByRole("button", { name: "Start over" }).click();
      await passwordStep(page, "kim");
      await page.getByRole("button", { name: "Use a passkey instead" }).click();
      await signedInAs(page, "kim");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 45_000);

  it("adds a passkey in Settings, then signs in with it alone, and with the password and a recovery code it gave", async () => {
    const { page, errors, close } = await pageWithAuthenticator();
    try {
      await signIn(page, node, "eve", PASSWORDS.eve, "/settings");
      await waitForHeading(page, "Settings");
      await page.getByText("0 passkeys", { exact: true }).waitFor({ timeout: 15_000 });
      await page.getByRole("button", { name: "Add a passkey" }).click();
      await page.getByText("1 passkey", { exact: true }).waitFor({ timeout: 15_000 });
      // The first factor brings recovery codes, shown this once.
      const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
      expect(codes.length).toBeGreaterThan(0);

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
      await page.getByRole("button", { name: "Sign in with a passkey" }).click();
      await signedInAs(page, "eve");

      // The passkey is now a second factor: the password alone is not enough; a recovery code from Settings is.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
      await passwordStep(page, "eve");
      await page.getByRole("radio", { name: "Use a recovery code" }).check();
      await page.getByLabel("Recovery code", { exact: true }).fill(codes[0]!);
      await page.getByRole("button", { name: "Verify" }).click();
      await signedInAs(page, "eve");

      // Settings lists the passkey; removing it is a change to eve's factors, confirmed with the passkey itself.
      await goInApp(page, "/settings");
      await waitForHeading(page, "Settings");
      const listed = page.getByRole("list", { name: "Passkeys" }).getByRole("listitem");
      await expect.poll(() => listed.count(), { timeout: 15_000 }).toBe(1);
      expect(await listed.first().textContent()).toContain("this browser");
      expect(await page.getByLabel("Confirm changes with").inputValue()).toBe("passkey");
      await page.getByRole("button", { name: "Remove passkey this browser" }).click();
      await page.getByText("0 passkeys", { exact: true }).waitFor({ timeout: 15_000 });
      expect(await page.getByRole("list", { name: "Passkeys" }).count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);
});
