/**
 * The Backups page (issue 19) in a real Chromium against the built node: an empty list, taking a backup with a
 * passphrase (the result and the row with its counts), verifying it (a wrong passphrase told apart by its code, then
 * the right one), downloading its file, deleting one (asked first), the offline restore command, axe-core in light and dark with a result and an error showing, and a
 * role without `backup:admin` that never sees the page. One browser for the file; a fresh context per test.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { findChromium, launchBrowser, serviceRecord, startNode, type KaiNode } from "./harness";
import { goInApp, hiddenPageSightings, seriousViolations, signIn, trackRequests, waitForHeading, watchPageErrors } from "./pages";

const chromiumPath = findChromium();
const PASSPHRASE = "the backup passphrase, long enough";

describe.skipIf(chromiumPath === undefined)("the Backups page in Chromium", () => {
  let node: KaiNode;
  let browser: Browser;

  beforeAll(async () => {
    // Cheap key derivation for the backups (as for the vault in the harness): the tests take and open several.
    [node, browser] = await Promise.all([startNode({ config: ["backup:", "  kdfIterations: 10000"] }), launchBrowser()]);
    await Promise.all([
      node.createUser("ada", "ada's long password", ["admin"]),
      node.createUser("vic", "vic's long password", ["viewer"]),
      node.api("/api/services/register", { json: serviceRecord("backed-up", { tags: ["backup"] }) }),
    ]);
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

  /** Opens the verification of backup `id` and submits `passphrase`. */
  async function verifyWith(page: Page, id: string, passphrase: string): Promise<void> {
    const form = page.getByRole("form", { name: `Verify ${id}` });
    if ((await form.count()) === 0) await page.getByRole("button", { name: `Verify ${id}` }).click();
    await form.getByLabel("Passphrase of this backup").fill(passphrase);
    await form.getByRole("button", { name: "Verify", exact: true }).click();
  }

  it("lists no backups, takes one, shows it with its counts, verifies it; a wrong passphrase is told apart", async () => {
    const { page, errors, close } = await newPage();
    try {
      await signIn(page, node, "ada", "ada's long password");
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Backups" }).click();
      await waitForHeading(page, "Backups");
      await page.getByText("No backups yet").waitFor({ timeout: 15_000 });

      const take = page.getByRole("form", { name: "Take a backup" });
      await take.getByLabel("Backup passphrase").fill(PASSPHRASE);
      await take.getByRole("button", { name: "Take backup now" }).click();
      await page.getByText("Backup taken:").waitFor({ timeout: 60_000 });
      // The passphrase is gone from the page once the node answered.
      expect(await take.getByLabel("Backup passphrase").inputValue()).toBe("");

      const [backup] = await node.api<{ backups: { id: string }[] }>("/api/backups").then((answer) => answer.backups);
      expect(backup).toBeDefined();
      const id = backup!.id;
      const row = page.getByRole("table", { name: "Backups" }).getByTestId(`backup-${id}`);
      await row.waitFor({ timeout: 15_000 });
      expect(await row.textContent()).toContain(`${id}.kaibak`);
      expect(await row.textContent()).toContain("1 service");
      expect(await row.textContent()).toContain("not included");

      await verifyWith(page, id, "not the passphrase at all");
      const wrong = page.getByRole("alert").filter({ hasText: "The passphrase does not open this backup" });
      await wrong.waitFor({ timeout: 60_000 });
      expect(await wrong.textContent()).toContain("code backup_passphrase_wrong");

      await verifyWith(page, id, PASSPHRASE);
      await page.getByRole("status").filter({ hasText: "Verified: the backup restores." }).waitFor({ timeout: 60_000 });
      const checks = page.getByRole("table", { name: `Verification of ${id}` });
      await checks.waitFor();
      expect(await checks.getByText("different", { exact: true }).count()).toBe(0);
      // The one notice left is the backup's own: this node's vault is on its key file, which the backup does not carry.
      const notices = await page.getByRole("alert").allTextContents();
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain("vault.key");

      // Download: the node's file, byte for byte, saved under its own name (to keep elsewhere, or restore elsewhere).
      const [saved] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: `Download ${id}` }).click()]);
      expect(saved.suggestedFilename()).toBe(`${id}.kaibak`);
      const savedPath = await saved.path();
      expect(readFileSync(savedPath).equals(readFileSync(join(node.dataDir, "backups", `${id}.kaibak`)))).toBe(true);

      // Restoring is offline: the exact command, and no button for it.
      expect(await page.locator("pre").textContent()).toContain(`kai backup restore ${id}.kaibak --data-dir`);
      expect(await page.getByRole("button", { name: /restore/i }).count()).toBe(0);

      // A second one with the artifacts' bytes: the newest row says so.
      await take.getByLabel("Backup passphrase").fill(PASSPHRASE);
      await take.getByLabel(/Include the artifacts' bytes/).check();
      await take.getByRole("button", { name: "Take backup now" }).click();
      await expect.poll(() => page.getByRole("table", { name: "Backups" }).locator("tbody tr").count(), { timeout: 60_000 }).toBe(2);
      const newest = (await node.api<{ backups: { id: string; withArtifacts: boolean }[] }>("/api/backups")).backups[0]!;
      expect(newest.withArtifacts).toBe(true);
      const withBytes = page.getByRole("table", { name: "Backups" }).getByTestId(`backup-${newest.id}`);
      expect(await withBytes.textContent()).toContain("included");
      expect(await withBytes.textContent()).not.toContain("not included");

      // Delete the first: asked first (cancelling keeps it), then its row and its file are gone.
      await page.getByRole("button", { name: `Delete ${id}` }).click();
      const confirm = page.getByRole("dialog", { name: "Delete this backup?" });
      await confirm.waitFor();
      expect(await confirm.textContent()).toContain(`${id}.kaibak`);
      await confirm.getByRole("button", { name: "Cancel" }).click();
      await confirm.waitFor({ state: "hidden" });
      expect(existsSync(join(node.dataDir, "backups", `${id}.kaibak`))).toBe(true);
      await page.getByRole("button", { name: `Delete ${id}` }).click();
      await confirm.getByRole("button", { name: "Delete backup" }).click();
      await row.waitFor({ state: "detached", timeout: 15_000 });
      expect(existsSync(join(node.dataDir, "backups", `${id}.kaibak`))).toBe(false);
      expect((await node.api<{ backups: { id: string }[] }>("/api/backups")).backups.map((listed) => listed.id)).toEqual([newest.id]);

      // The passphrase was kept nowhere the page could show or leak it.
      const kept = await page.evaluate(() => JSON.stringify([window.location.href, { ...window.localStorage }, { ...window.sessionStorage }, document.body.innerHTML]));
      expect(kept).not.toContain(PASSPHRASE);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 180_000);

  for (const scheme of ["light", "dark"] as const) {
    it(`has no serious or critical axe violation with a list, a verification and an error (${scheme})`, async () => {
      const { page, errors, close } = await newPage({ colorScheme: scheme });
      const requests = trackRequests(page);
      try {
        const found: Record<string, unknown> = {};
        await signIn(page, node, "ada", "ada's long password");
        await goInApp(page, "/backups");
        await waitForHeading(page, "Backups");
        await requests.quiet();
        if ((await page.getByText("No backups yet").count()) > 0) {
          await node.api("/api/backups", { json: { passphrase: PASSPHRASE } });
          await page.getByRole("button", { name: "Refresh" }).click();
        }
        const [backup] = await node.api<{ backups: { id: string }[] }>("/api/backups").then((answer) => answer.backups);
        const id = backup!.id;
        await page.getByRole("table", { name: "Backups" }).getByTestId(`backup-${id}`).waitFor({ timeout: 15_000 });
        const listed = await seriousViolations(page);
        if (listed.length > 0) found["list"] = listed;

        await verifyWith(page, id, PASSPHRASE);
        await page.getByRole("table", { name: `Verification of ${id}` }).waitFor({ timeout: 60_000 });
        const verified = await seriousViolations(page);
        if (verified.length > 0) found["verified"] = verified;

        await verifyWith(page, id, "not the passphrase at all");
        await page.getByRole("alert").filter({ hasText: "code backup_passphrase_wrong" }).waitFor({ timeout: 60_000 });
        const failed = await seriousViolations(page);
        if (failed.length > 0) found["wrong passphrase"] = failed;

        // The field's own error (too short: refused before any request).
        const take = page.getByRole("form", { name: "Take a backup" });
        await take.getByLabel("Backup passphrase").fill("short");
        await take.getByRole("button", { name: "Take backup now" }).click();
        await take.getByRole("alert").waitFor();
        const invalid = await seriousViolations(page);
        if (invalid.length > 0) found["short passphrase"] = invalid;

        expect(await page.getByRole("heading", { level: 1 }).count()).toBe(1);
        expect(found).toEqual({});
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }, 180_000);
  }

  it("is not shown to a role without backup:admin, not even by its address", async () => {
    const { page, close } = await newPage();
    try {
      await signIn(page, node, "vic", "vic's long password");
      expect(await hiddenPageSightings(page, node, "Backups", "/backups")).toEqual({ links: 0, headings: 0 });
    } finally {
      await close();
    }
  }, 45_000);
});
