/**
 * What people do in the app, end to end in a real Chromium against the built node: a registration made elsewhere
 * shows up live, registering and editing through the forms, a streamed chat in the playground and stopping one,
 * locking and unlocking the vault. One browser and one signed-in page (a cookie session) for the file; the flows
 * do not disturb each other (each uses its own services and tags). The playground's upstream is the server tests'
 * faithful fake OpenAI server, listening on loopback in this process.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { findChromium, launchBrowser, serviceRecord, startNode, type KaiNode } from "./harness";
import { goInApp, signIn, watchPageErrors } from "./pages";

const chromiumPath = findChromium();

/** What the test uses of the fake (packages/server/test/gateway/fakes/openai-fake.ts). */
interface FakeUpstream {
  url: string;
  scenario: { kind: string; [key: string]: unknown };
  earlyCloses: number;
  waitForEarlyClose(seen: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}
// Loaded by path at run time: the server's test code is not part of the web app's compilation.
const FAKE = new URL("../../../server/test/gateway/fakes/openai-fake.ts", import.meta.url).pathname;
const startOpenAIFake = async (): Promise<FakeUpstream> => ((await import(/* @vite-ignore */ FAKE)) as { startOpenAIFake(): Promise<FakeUpstream> }).startOpenAIFake();

describe.skipIf(chromiumPath === undefined)("flows in the web app", () => {
  let node: KaiNode;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let fake: FakeUpstream;

  beforeAll(async () => {
    [node, browser, fake] = await Promise.all([startNode(), launchBrowser(), startOpenAIFake()]);
    await node.createUser("ada", "ada's long password", ["admin"]);
    await node.api("/api/services/register", {
      json: serviceRecord("pg-openai", { name: "Playground OpenAI", provider: "openai", capabilities: ["llm_chat"], url: fake.url }),
    });
    page = await browser.newPage();
    errors = watchPageErrors(page);
    await signIn(page, node, "ada", "ada's long password");
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    await fake?.close();
  });

  async function servicesPage(query: string): Promise<void> {
    await goInApp(page, `/services${query}`);
    await page.getByRole("table", { name: "Services" }).waitFor({ timeout: 15_000 });
    await page.getByText("Live: changes appear as they happen").waitFor({ timeout: 15_000 });
  }

  it("shows a registration made elsewhere without a reload, and drops a deregistered one", async () => {
    await servicesPage("?tag=live");
    const table = page.getByRole("table", { name: "Services" });
    await node.api("/api/services/register", { json: serviceRecord("live-one", { name: "Live one", tags: ["live"] }) });
    await table.getByRole("link", { name: "Live one" }).waitFor({ timeout: 10_000 });
    await node.api("/api/services/live-one", { method: "DELETE" });
    await table.getByRole("link", { name: "Live one" }).waitFor({ state: "detached", timeout: 10_000 });
    expect(errors).toEqual([]);
  }, 45_000);

  it("registers a service through the form and edits it", async () => {
    await servicesPage("?tag=formed");
    await page.getByRole("button", { name: "Register service" }).click();
    const form = page.getByRole("form", { name: "Register a service" });
    await form.getByLabel("ID", { exact: true }).fill("formed-one");
    await form.getByLabel("Name", { exact: true }).fill("Formed one");
    await form.getByLabel("URL", { exact: true }).fill("http://127.0.0.1:11434");
    await form.getByLabel("Capabilities", { exact: true }).fill("llm_chat, embeddings");
    await form.getByLabel("Tags", { exact: true }).fill("formed");
    await form.getByRole("button", { name: "Register" }).click();
    await page.getByText("Registered formed-one.").waitFor({ timeout: 10_000 });
    const table = page.getByRole("table", { name: "Services" });
    await table.getByRole("link", { name: "Formed one" }).waitFor({ timeout: 10_000 });
    const registered = await node.api<{ capabilities: string[]; tags: string[] }>("/api/services/formed-one");
    expect(registered.capabilities).toEqual(["llm_chat", "embeddings"]);

    await table.getByRole("button", { name: "Edit formed-one" }).click();
    const edit = page.getByRole("form", { name: "Edit formed-one" });
    await edit.getByLabel("Description", { exact: true }).fill("edited in the browser");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved formed-one.").waitFor({ timeout: 10_000 });
    expect((await node.api<{ description: string }>("/api/services/formed-one")).description).toBe("edited in the browser");
    expect(errors).toEqual([]);
  }, 60_000);

  it("streams a chat answer through the gateway, says who answered, and stops a stream", async () => {
    fake.scenario = { kind: "ok" };
    await goInApp(page, "/playground");
    await page.getByLabel("Model", { exact: true }).fill("gpt-fake", { timeout: 15_000 });
    await page.getByLabel("Message", { exact: true }).fill("Say hello");
    await page.getByRole("button", { name: "Send" }).click();
    const conversation = page.getByRole("list", { name: "Conversation" });
    await conversation.getByText("Hello from the fake").waitFor({ timeout: 15_000 });
    await page.getByRole("status").filter({ hasText: "Answer complete" }).waitFor();
    expect(await page.getByRole("region", { name: "Served by" }).textContent()).toContain("pg-openai");

    fake.scenario = { kind: "stall-mid-stream" };
    const closesBefore = fake.earlyCloses;
    await page.getByLabel("Message", { exact: true }).fill("Tell me a long story");
    await page.getByRole("button", { name: "Send" }).click();
    // The fake sends its first frames ("Hel") and then goes silent.
    await expect.poll(() => page.getByTestId("streaming-answer").textContent(), { timeout: 15_000 }).toBe("Hel");
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("status").filter({ hasText: "Stopped" }).waitFor();
    await fake.waitForEarlyClose(closesBefore);
    expect(errors).toEqual([]);
  }, 60_000);

  it("locks the vault and unlocks it with its passphrase", async () => {
    const passphrase = "correct horse battery staple";
    await goInApp(page, "/vault");
    await page.getByRole("button", { name: "Set a passphrase" }).click({ timeout: 15_000 });
    await page.getByLabel("New passphrase", { exact: true }).fill(passphrase);
    await page.getByLabel("Repeat the new passphrase", { exact: true }).fill(passphrase);
    await page.getByRole("button", { name: "Save passphrase" }).click();
    await page.getByText(/^passphrase \(/).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Lock vault" }).click();
    await expect.poll(() => page.getByTestId("vault-state").textContent(), { timeout: 15_000 }).toBe("locked");
    expect((await node.api<{ locked: boolean }>("/api/vault/status")).locked).toBe(true);

    await page.getByLabel("Passphrase", { exact: true }).fill("not the passphrase");
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByText("The vault is still locked").waitFor({ timeout: 15_000 });
    await page.getByLabel("Passphrase", { exact: true }).fill(passphrase);
    await page.getByRole("button", { name: "Unlock" }).click();
    await expect.poll(() => page.getByTestId("vault-state").textContent(), { timeout: 15_000 }).toBe("unlocked");
    expect((await node.api<{ locked: boolean }>("/api/vault/status")).locked).toBe(false);
    expect(errors).toEqual([]);
  }, 60_000);

  // Plugin UIs (issue 18): a running plugin's page runs its script in a sandboxed frame (an opaque origin: no cookies),
  // and its call through the app's message channel comes back with the plugin's answer.
  it("runs a plugin's UI in a sandboxed frame that calls its plugin through the app", async () => {
    const folder = join(node.dataDir, "plugins", "echo-ui");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "plugin.yaml"), "id: echo-ui\nname: Echo UI\nentrypoint: main.mjs\nversion: 1.0.0\nui: { menu: true, page: ui.html }\ncapabilities: [{ name: ui_echo }]\n");
    writeFileSync(join(folder, "main.mjs"), "export default { capabilities: { ui_echo: async (input) => ({ echoed: input.text }) } };\n");
    writeFileSync(join(folder, "ui.html"), `<!doctype html><title>Echo</title><p id="answer">waiting</p><p id="cookie"></p><script>
      try { document.cookie; document.getElementById("cookie").textContent = "readable"; } catch { document.getElementById("cookie").textContent = "no cookies"; }
      addEventListener("message", (event) => { if (event.data && event.data.id === 1) document.getElementById("answer").textContent = event.data.ok ? JSON.stringify(event.data.output) : "error: " + event.data.error; });
      parent.postMessage({ kai: 1, id: 1, type: "invoke", capability: "ui_echo", input: { text: "hello" } }, "*");
    </script>`);
    await node.api("/api/plugins/rescan", { method: "POST" });
    await node.api("/api/plugins/echo-ui/enable", { method: "POST" });
    await goInApp(page, "/plugin-ui/echo-ui");
    const frame = page.frameLocator('iframe[title="Echo UI (plugin)"]');
    await expect.poll(() => frame.locator("#answer").textContent(), { timeout: 15_000 }).toBe('{"echoed":"hello"}');
    expect(await frame.locator("#cookie").textContent()).toBe("no cookies");
    await node.api("/api/plugins/echo-ui/disable", { method: "POST" });
    expect(errors).toEqual([]);
  }, 30_000);
});
