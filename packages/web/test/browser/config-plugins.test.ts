/**
 * Issue 18 in the web app, in a real Chromium against the built node: the Settings page's configuration as one agent
 * sees it (an overrides file `agents/kPlanner.main.yaml` beside the node's config file, written before the start):
 * which file and keys, the agent's effective values, the explanation with the `agent` layer winning over the user
 * file, the node-wide view, and a node-wide change (the runtime layer) that then wins in the agent's view too while
 * the page says per-agent settings live in the agent's file. And the Plugins page: a plugin whose manifest narrows its
 * CPU share and that spins is stopped by the node's CPU watchdog (`overloaded`, shown with the reason), and its
 * `agent_invoke:` permission and CPU limit are shown in its details. One browser and one node for the file.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { findChromium, launchBrowser, startNode, type KaiNode } from "./harness";
import { goInApp, seriousViolations, signIn, waitForHeading, watchPageErrors } from "./pages";

const chromiumPath = findChromium();

const PLANNER_FILE = "agents:\n  planner:\n    attempts: 5\n    temperature: 0.7\n";
const SPIN_MANIFEST = `id: spin
name: Spin
entrypoint: main.mjs
version: 1.0.0
permissions: ["agent_invoke:kPlanner:main", registry_read]
limits: { cpuPercent: 1, cpuWindowSeconds: 1 }
capabilities:
  - name: spin_work
`;
// Loads and answers, then keeps one CPU busy in slices (so the host still reads its messages): far past 1 % over 1 s.
const SPIN_MAIN = `export default { capabilities: { spin_work: async () => ({ spun: true }) } };
setTimeout(function spin() { const end = Date.now() + 200; while (Date.now() < end); setTimeout(spin, 0); }, 50);
`;

interface PluginRuntimeBody {
  plugins: { id: string; runtime?: { state: string; reason?: string } }[];
}

describe.skipIf(chromiumPath === undefined)("agent overrides and plugin states in Chromium", () => {
  let node: KaiNode;
  let browser: Browser;

  beforeAll(async () => {
    [node, browser] = await Promise.all([
      startNode({
        config: [
          "agents:",
          "  planner:",
          "    attempts: 2",
          // Weak isolation allowed: the test is about the CPU watchdog, which runs either way (this machine may lack
          // user namespaces); one end is a crash loop, so the plugin stays stopped with its reason to look at.
          "plugins:",
          "  allowWeakIsolation: true",
          "  restart: { crashLoopCount: 1 }",
        ],
        files: {
          "agents/kPlanner.main.yaml": PLANNER_FILE,
          "data/plugins/spin/plugin.yaml": SPIN_MANIFEST,
          "data/plugins/spin/main.mjs": SPIN_MAIN,
        },
      }),
      launchBrowser(),
    ]);
    await node.createUser("ada", "ada's long password", ["admin"]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  async function newPage(): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    return { page, errors: watchPageErrors(page), close: () => context.close() };
  }

  it("shows an agent's view: its file and keys, its values, the explanation with the agent layer, node-wide changes only", async () => {
    const { page, errors, close } = await newPage();
    try {
      await signIn(page, node, "ada", "ada's long password");
      await goInApp(page, "/settings");
      await waitForHeading(page, "Settings");
      const yaml = page.getByLabel("Configuration as YAML");
      await yaml.waitFor({ timeout: 15_000 });
      expect(await yaml.textContent()).toContain("attempts: 2");

      // An id that is no agent id is refused in the form, before any request.
      await page.getByLabel("View as agent").fill("../../etc/passwd");
      await page.getByRole("button", { name: "Show", exact: true }).click();
      await page.getByText("an agent id: kClass:name").waitFor();

      await page.getByLabel("View as agent").fill("kPlanner:main");
      await page.getByRole("button", { name: "Show", exact: true }).click();
      const overrides = page.getByRole("region", { name: "Overrides of kPlanner:main" });
      await overrides.waitFor({ timeout: 15_000 });
      expect(await overrides.textContent()).toContain(join(node.dir, "agents", "kPlanner.main.yaml"));
      const keys = overrides.getByRole("list", { name: "Keys set by kPlanner:main's file" });
      expect((await keys.getByRole("listitem").allTextContents()).sort()).toEqual(["agents.planner.attempts", "agents.planner.temperature"]);
      await page.getByText("The view of agent kPlanner:main.").waitFor();
      expect(await yaml.textContent()).toContain("attempts: 5");
      expect(await yaml.textContent()).toContain("temperature: 0.7");

      // A key of the file opens its explanation as the agent: the agent layer (its file) wins over the user file.
      await overrides.getByRole("button", { name: "Explain agents.planner.attempts" }).click();
      const layers = page.getByRole("table", { name: "Layers of agents.planner.attempts for kPlanner:main" });
      await layers.waitFor({ timeout: 15_000 });
      const agentRow = layers.getByTestId("layer-agent");
      expect(await agentRow.textContent()).toContain("wins");
      expect(await agentRow.textContent()).toContain(join(node.dir, "agents", "kPlanner.main.yaml"));
      expect(await agentRow.textContent()).toContain("5");
      const userRow = layers.getByTestId("layer-user");
      expect(await userRow.textContent()).toContain("2");
      expect(await userRow.textContent()).not.toContain("wins");
      expect(await seriousViolations(page)).toEqual([]);

      // Changing is node-wide: the page says where this agent's own settings are changed.
      const change = page.getByRole("region", { name: "Change a setting" });
      expect(await change.textContent()).toContain("no per-agent change here");
      expect(await change.textContent()).toContain("kPlanner.main.yaml");
      await change.getByLabel("Setting to change").fill("agents.planner.attempts");
      await change.getByLabel("New value (YAML)").fill("3");
      await change.getByRole("button", { name: "Apply node-wide" }).click();
      const applied = change.getByRole("status");
      await applied.waitFor({ timeout: 15_000 });
      expect(await applied.textContent()).toContain("agents.planner.attempts");
      // The runtime layer is above the agent's file: the explanation (read again) now has it winning, and the agent's view says 3.
      await layers.getByTestId("layer-runtime").filter({ hasText: "wins" }).waitFor({ timeout: 15_000 });
      expect(await agentRow.textContent()).not.toContain("wins");
      await page.getByText("attempts: 3").waitFor();
      const config = await node.api<{ config: { agents: { planner: { attempts: number } } } }>("/api/config?agent=kPlanner:main");
      expect(config.config.agents.planner.attempts).toBe(3);

      // Back to the node-wide view: no agent section, the node's values.
      await page.getByRole("button", { name: "Node-wide view" }).click();
      await page.getByText("The node-wide view.", { exact: false }).waitFor({ timeout: 15_000 });
      expect(await page.getByRole("region", { name: "Overrides of kPlanner:main" }).count()).toBe(0);
      expect(await yaml.textContent()).toContain("temperature: 0.2");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it("shows a plugin the CPU watchdog stopped as overloaded, with its agent_invoke permission and CPU limit", async () => {
    await node.api("/api/plugins/spin/enable", { method: "POST" });
    // The node stops it within a second or two of spinning; with crashLoopCount 1 it then stays failed, reason kept.
    const deadline = Date.now() + 30_000;
    let runtime: PluginRuntimeBody["plugins"][number]["runtime"];
    while (Date.now() < deadline) {
      runtime = (await node.api<PluginRuntimeBody>("/api/plugins")).plugins.find((plugin) => plugin.id === "spin")?.runtime;
      if (runtime?.state === "failed") break;
      await new Promise((done) => setTimeout(done, 250));
    }
    expect(runtime, node.stderr()).toMatchObject({ state: "failed", reason: expect.stringMatching(/of a CPU over 1 s, more than its share of 1%/) as unknown });

    const { page, errors, close } = await newPage();
    try {
      await signIn(page, node, "ada", "ada's long password");
      await goInApp(page, "/plugins");
      await waitForHeading(page, "Plugins");
      const row = page.getByRole("table", { name: "Plugins" }).getByTestId("plugin-spin");
      await row.waitFor({ timeout: 15_000 });
      expect(await row.textContent()).toContain("failed");
      expect(await row.textContent()).toContain("overloaded");
      expect(await row.textContent()).toContain("stopped by the CPU watchdog: used");

      await row.getByRole("button", { name: "Details of spin" }).click();
      const details = page.getByRole("definition").filter({ has: page.getByRole("list", { name: "Permissions of spin" }) });
      await details.waitFor({ timeout: 15_000 });
      expect(await details.textContent()).toContain("agent_invoke:kPlanner:main — tasks handed to the agent kPlanner:main through kCore");
      await page.getByText("at most 1% of a CPU on average over 1 s", { exact: false }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
