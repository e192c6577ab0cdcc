/**
 * The Backups list in a real Chromium at a common laptop width (1280×800) and a narrower window (900), where only a
 * browser lays it out: with several backups the table fits its panel (ten columns of a word or two each were crowded
 * at 1280 and ran off narrower windows), each backup's file name stays whole (on one line at 1280; broken only after
 * a hyphen, never inside the date or the suffix, narrower), and the warning that a backup's vault opens only with the
 * old node's vault.key stays in its row, readable: a badge on one line at 1280, never squeezed to a word per line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { findChromium, launchBrowser, startNode, type KaiNode } from "./harness";
import { signIn, waitForHeading, watchPageErrors } from "./pages";

const chromiumPath = findChromium();
const PASSPHRASE = "the backup passphrase, long enough";
const VAULT_WARNING = "the node's vault.key (not in the backup)";
/** Above one line of the table's text (20 px) and below two. */
const ONE_LINE = 30;

describe.skipIf(chromiumPath === undefined)("the Backups list in Chromium, laid out", () => {
  let node: KaiNode;
  let browser: Browser;

  beforeAll(async () => {
    // Cheap key derivation for the backups (as for the vault in the harness): the test takes several.
    [node, browser] = await Promise.all([startNode({ config: ["backup:", "  kdfIterations: 10000"] }), launchBrowser()]);
    await node.createUser("ada", "ada's long password", ["admin"]);
    // Several backups, with and without the artifacts' bytes; the test node's vault is on its key file, so each is a
    // backup whose row must warn.
    for (let index = 0; index < 5; index++) await node.api("/api/backups", { json: { passphrase: PASSPHRASE, withArtifacts: index % 2 === 0 } });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  /** The table's and its scrolling frame's widths, and where the table ends against the frame. */
  async function overflow(table: Locator): Promise<{ tableWidth: number; frameWidth: number; rightOver: number }> {
    return table.evaluate((element: HTMLElement) => {
      const frame = element.parentElement!;
      return { tableWidth: element.scrollWidth, frameWidth: frame.clientWidth, rightOver: element.getBoundingClientRect().right - frame.getBoundingClientRect().right };
    });
  }

  /** How many lines an inline element's text takes. */
  const lines = (locator: Locator) => locator.evaluate((element: HTMLElement) => new Set([...element.getClientRects()].map((rect) => Math.round(rect.top))).size);

  async function openList(page: Page): Promise<Locator> {
    await signIn(page, node, "ada", "ada's long password", "/backups");
    await waitForHeading(page, "Backups");
    const table = page.getByRole("table", { name: "Backups" });
    await table.waitFor({ timeout: 15_000 });
    return table;
  }

  /** What every width must keep: the table in its frame, each row's file name whole and its vault warning readable. */
  async function checkRows(table: Locator, width: number): Promise<void> {
    const fit = await overflow(table);
    expect(fit.tableWidth, `${width} px: the table is wider than its frame`).toBeLessThanOrEqual(fit.frameWidth);
    expect(fit.rightOver, `${width} px: the table runs past its frame`).toBeLessThanOrEqual(0.5);
    const ids = (await node.api<{ backups: { id: string }[] }>("/api/backups")).backups.map((backup) => backup.id);
    expect(await table.locator("tbody tr").count()).toBe(ids.length);
    for (const id of ids) {
      const row = table.getByTestId(`backup-${id}`);
      const file = row.getByTestId("backup-file");
      expect(await file.textContent()).toBe(`${id}.kaibak`);
      // Whole: each line of the name ends at a hyphen or before `.kaibak`, never inside the date or the suffix.
      const pieces = await file.evaluate((element: HTMLElement) => {
        const byLine = new Map<number, string>();
        for (const part of element.children) {
          const top = Math.round(part.getBoundingClientRect().top);
          byLine.set(top, (byLine.get(top) ?? "") + part.textContent);
        }
        return [...byLine.values()];
      });
      for (const piece of pieces.slice(0, -1)) expect(piece, `${width} px: ${id} broken inside a part`).toMatch(/-$/);
      if (width >= 1280) expect(await lines(file), `${id} takes more than one line at ${width} px`).toBe(1);

      const warning = row.getByText(VAULT_WARNING, { exact: true });
      expect(await warning.isVisible(), `${id}: no vault warning`).toBe(true);
      const badge = (await warning.boundingBox())!;
      const cell = (await row.locator("th").boundingBox())!;
      // In its cell, and wide enough to read (not a word per line).
      expect(badge.x + badge.width, `${width} px: ${id}'s vault warning runs out of its cell`).toBeLessThanOrEqual(cell.x + cell.width + 0.5);
      expect(badge.width, `${width} px: ${id}'s vault warning is squeezed`).toBeGreaterThanOrEqual(120);
      if (width >= 1280) expect(badge.height, `${id}'s vault warning wraps at ${width} px`).toBeLessThan(ONE_LINE);

      // The actions stay in reach: in the frame, not scrolled out of it.
      const frame = (await table.locator("xpath=..").boundingBox())!;
      for (const action of ["Verify", "Download", "Delete"]) {
        const button = (await row.getByRole("button", { name: `${action} ${id}` }).boundingBox())!;
        expect(button.x + button.width, `${width} px: ${action} ${id} is out of the frame`).toBeLessThanOrEqual(frame.x + frame.width + 0.5);
      }
    }
  }

  it("fits several backups at 1280 pixels: whole file names on one line, each vault warning on one line", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    try {
      const table = await openList(page);
      // One taken in the page, so that its row shows what it holds: the longest cell of the list.
      const take = page.getByRole("form", { name: "Take a backup" });
      await take.getByLabel("Backup passphrase").fill(PASSPHRASE);
      await take.getByRole("button", { name: "Take backup now" }).click();
      await page.getByText("Backup taken:").waitFor({ timeout: 60_000 });
      await expect.poll(() => table.locator("tbody tr").count(), { timeout: 15_000 }).toBe(6);
      await table.locator("tbody tr").first().getByText(/\d+ services?, \d+ secrets?/).waitFor({ timeout: 15_000 });
      await checkRows(table, 1280);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("still fits at 900 pixels, the file names broken only between their parts", async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    try {
      const table = await openList(page);
      await checkRows(table, 900);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
