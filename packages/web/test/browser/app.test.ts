/**
 * The app in a real Chromium against the built node: signing in (password, passkey), what a role may see, and
 * axe-core on every page in light and dark. One browser for the file; a fresh context per test (own cookies).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { findChromium, launchBrowser, serviceRecord, startNode, type KaiNode } from "./harness";
import { addVirtualAuthenticator, apiSession, appPages, goInApp, hiddenPageSightings, registerPasskey, seriousViolations, signIn, trackRequests, waitForHeading, watchPageErrors } from "./pages";

const chromiumPath = findChromium();

describe.skipIf(chromiumPath === undefined)("the web app in Chromium", () => {
  let node: KaiNode;
  let browser: Browser;
  let taskPath = "";

  beforeAll(async () => {
    [node, browser] = await Promise.all([startNode(), launchBrowser()]);
    await Promise.all([
      node.createUser("ada", "ada's long password", ["admin"]),
      node.createUser("vic", "vic's long password", ["viewer"]),
      node.createUser("pat", "pat's long password", ["developer"]),
      node.api("/api/services/register", { json: serviceRecord("chat-a", { tags: ["e2e"] }) }),
    ]);
    // A task's page for axe: a two-step plan nobody offers a capability for (it fails at once, no agent needed).
    const made = await node.api<{ task: { id: string } }>("/api/agent/task", { json: { goal: "axe: a plan", plan: { goal: "axe: a plan", steps: [{ id: "first", capability: "nobody_offers" }, { id: "second", capability: "nobody_offers", dependsOn: ["first"] }] } } });
    taskPath = `/agents/tasks/${made.task.id}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  async function newPage(options: { colorScheme?: "light" | "dark" } = {}): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const context = await browser.newContext({ colorScheme: options.colorScheme ?? "light" });
    const page = await context.newPage();
    return { page, errors: watchPageErrors(page), close: () => context.close() };
  }

  it("signs in with a password into a cookie session that survives a reload, and signs out", async () => {
    const { page, errors, close } = await newPage();
    try {
      await signIn(page, node, "ada", "ada's long password");
      await expect.poll(() => page.getByTestId("signed-in-as").textContent()).toBe("ada");
      // The session is in HttpOnly cookies: nothing of it is readable by the page's scripts.
      const cookies = await page.context().cookies();
      expect(cookies.length).toBeGreaterThan(0);
      expect(cookies.every((cookie) => cookie.httpOnly || !/refresh|access|session/i.test(cookie.name))).toBe(true);
      await page.reload();
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
      await page.reload();
      await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 45_000);

  it("refuses a wrong password with a message, and stays on the sign-in page", async () => {
    const { page, close } = await newPage();
    try {
      await page.goto(node.url);
      await page.getByLabel("Username").fill("ada");
      await page.getByLabel("Password", { exact: true }).fill("not the password");
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByText("Could not sign in").waitFor();
      expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
    } finally {
      await close();
    }
  }, 45_000);

  it("signs in with a passkey (a CDP virtual authenticator), without a password", async () => {
    const { page, errors, close } = await newPage();
    try {
      await addVirtualAuthenticator(page.context(), page);
      await page.goto(node.url);
      await registerPasskey(page, node, await apiSession(node, "pat", "pat's long password"));
      await page.reload();
      await page.getByRole("button", { name: /passkey/i }).first().click();
      await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
      await expect.poll(() => page.getByTestId("signed-in-as").textContent()).toBe("pat");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 45_000);

  it("does not show the vault to a role that may not see it, not even by its address", async () => {
    const { page, close } = await newPage();
    try {
      await signIn(page, node, "vic", "vic's long password");
      expect(await hiddenPageSightings(page, node, "Vault", "/vault")).toEqual({ links: 0, headings: 0 });
    } finally {
      await close();
    }
  }, 45_000);

  it("works from the keyboard alone: the skip link comes first, focus is visible, the navigation opens pages", async () => {
    const { page, close } = await newPage();
    try {
      await page.goto(node.url);
      // Signing in with the keyboard only: Tab to the username (wherever the page put the focus), type, Tab to the
      // password, Enter submits.
      const isFocused = (locator: ReturnType<Page["getByLabel"]>) => locator.evaluate((element) => element === document.activeElement);
      const tabTo = async (locator: ReturnType<Page["getByLabel"]>) => {
        for (let i = 0; i < 20 && !(await isFocused(locator)); i++) await page.keyboard.press("Tab");
        expect(await isFocused(locator)).toBe(true);
      };
      await page.getByLabel("Username").waitFor();
      await tabTo(page.getByLabel("Username"));
      await page.keyboard.type("ada");
      await page.keyboard.press("Tab");
      expect(await isFocused(page.getByLabel("Password", { exact: true }))).toBe(true);
      await page.keyboard.type("ada's long password");
      await page.keyboard.press("Enter");
      await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });

      await page.keyboard.press("Tab");
      const skip = page.getByRole("link", { name: "Skip to content" });
      expect(await skip.evaluate((element) => element === document.activeElement)).toBe(true);
      const focusStyle = async () => page.evaluate(() => {
        const style = getComputedStyle(document.activeElement as Element);
        return { outline: style.outlineStyle, width: parseFloat(style.outlineWidth), visible: (document.activeElement as HTMLElement).getBoundingClientRect().width > 0 };
      });
      expect(await focusStyle()).toMatchObject({ outline: "solid", visible: true });
      expect((await focusStyle()).width).toBeGreaterThan(0);

      // Tab on to the Services link and open it with Enter.
      await tabTo(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Services" }));
      expect(await focusStyle()).toMatchObject({ outline: "solid" });
      await page.keyboard.press("Enter");
      await waitForHeading(page, "Services");
    } finally {
      await close();
    }
  }, 45_000);

  for (const scheme of ["light", "dark"] as const) {
    it(`has no serious or critical axe violation on any page (${scheme})`, async () => {
      const { page, errors, close } = await newPage({ colorScheme: scheme });
      const requests = trackRequests(page);
      try {
        const found: Record<string, unknown> = {};
        await page.goto(node.url);
        await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
        expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(scheme === "dark");
        const signInViolations = await seriousViolations(page);
        if (signInViolations.length > 0) found["sign-in"] = signInViolations;
        await signIn(page, node, "ada", "ada's long password");
        for (const { name, path } of appPages([{ name: "chat-a", path: "/services/chat-a" }, { name: "a task", path: taskPath }])) {
          await goInApp(page, path);
          await page.getByRole("heading", { level: 1 }).first().waitFor({ timeout: 15_000 });
          // Let data arrive (the page's queries) before judging it: what people see after a moment.
          await requests.quiet({ quietMs: 500, timeoutMs: 2000 });
          const violations = await seriousViolations(page);
          expect(await page.getByRole("heading", { level: 1 }).count(), `${name}: one <h1>`).toBe(1);
          if (violations.length > 0) found[path] = violations;
        }
        // A form opened on a page is judged too: the generated service form, with its errors showing.
        await goInApp(page, "/services");
        await page.getByRole("button", { name: "Register service" }).click();
        const form = page.getByRole("form", { name: "Register a service" });
        await form.getByRole("button", { name: "Register" }).click();
        await form.getByRole("alert").first().waitFor();
        const formViolations = await seriousViolations(page);
        if (formViolations.length > 0) found["/services (register form, with errors)"] = formViolations;
        expect(found).toEqual({});
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }, 120_000);
  }
});
