/**
 * The Console's filters in a real Chromium at a common laptop width (1280×800), where only a browser lays them out:
 * each id field is wide enough to show a whole request id typed or pasted in (in one row of nine they were some 45
 * pixels wide, two characters of a 36-character id), the field's labels stay on one line, and a field's problem
 * shown below it leaves the other fields of its row where they were.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { findChromium, launchBrowser, startNode, type KaiNode } from "./harness";
import { signIn, waitForHeading, watchPageErrors } from "./pages";

const chromiumPath = findChromium();
const ID_FIELDS = ["Request id", "Task id", "Service id", "Trace id"] as const;

describe.skipIf(chromiumPath === undefined)("the Console in Chromium", () => {
  let node: KaiNode;
  let browser: Browser;

  beforeAll(async () => {
    [node, browser] = await Promise.all([startNode(), launchBrowser()]);
    await node.createUser("ada", "ada's long password", ["admin"]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it("shows a whole request id in each id filter at 1280 pixels, and a field's problem moves no other field", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    try {
      await signIn(page, node, "ada", "ada's long password", "/console");
      await waitForHeading(page, "Console");
      const filters = page.getByRole("form", { name: "Filter the log" });
      for (const name of ID_FIELDS) {
        const field = filters.getByLabel(name, { exact: true });
        await field.fill("0b6f3c1e-8a2d-4f5b-9c7e-1d2a3b4c5d6e");
        // The whole id is visible: the text does not scroll inside the field.
        const fits = await field.evaluate((input: HTMLInputElement) => input.scrollWidth <= input.clientWidth);
        expect(fits, `${name}: the id does not fit its field`).toBe(true);
        // The label on one line (its height about one line of text, not two).
        const label = filters.locator("label", { hasText: new RegExp(`^${name}$`) });
        const { height } = (await label.boundingBox())!;
        expect(height, `${name}: its label wraps`).toBeLessThan(30);
      }

      // A trace id that is not one: its problem shows below it, and its row's other fields stay level with it.
      await filters.getByLabel("Trace id", { exact: true }).fill("xyz");
      await filters.getByRole("button", { name: "Apply" }).click();
      await filters.getByText(/^a trace id: 32 lowercase hex digits/).waitFor();
      const tops = await Promise.all(["Service id", "Trace id", "Text"].map(async (name) => (await filters.getByLabel(name, { exact: true }).boundingBox())!.y));
      expect(tops[0], "Service id beside a trace id's problem").toBe(tops[1]);
      expect(tops[2], "Text beside a trace id's problem").toBe(tops[1]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
