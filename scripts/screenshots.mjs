/**
 * @module scripts/screenshots
 * `npm run screenshots`: every page of the web app, light and dark, as PNG files in docs/screenshots/
 * (`<page>-<light|dark>.png`), taken in a real Chromium from the built node with some data in it (services in
 * several states, vault secrets), so that the docs show what people see. Uses the browser tests' harness (run
 * with tsx: it is TypeScript), so the node, the browser and the page list are the tests' own.
 *
 * Needs `npm run build` first (the npm script does it) and a Chromium (KAI_TEST_CHROMIUM or /usr/bin/chromium).
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { findChromium, launchBrowser, serviceRecord, startNode } from "../packages/web/test/browser/harness.ts";
import { appPages, goInApp, signIn } from "../packages/web/test/browser/pages.ts";

const OUT = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);

/** A node worth looking at: services of several kinds and states, secrets in the vault. */
async function seed(node) {
  const services = [
    serviceRecord("openai-main", { name: "OpenAI (main)", capabilities: ["llm_chat", "embeddings"], tags: ["prod", "region=eu-west"], description: "The main chat provider" }),
    serviceRecord("ollama-local", { name: "Ollama on the GPU box", provider: "ollama", capabilities: ["llm_chat"], tags: ["local"] }),
    serviceRecord("qdrant", { name: "Qdrant vectors", provider: "qdrant", type: "tool", capabilities: ["vector_storage"], tags: ["prod"] }),
    serviceRecord("sd-images", { name: "Stable Diffusion", provider: "custom", capabilities: ["image_generation"], tags: ["beta"] }),
  ];
  for (const service of services) await node.api("/api/services/register", { json: service });
  await node.api("/api/services/sd-images", { method: "PATCH", json: { status: "maintenance" } }).catch(() => undefined);
  for (const name of ["openai/prod", "ollama/local"]) {
    await node.api(`/api/vault/secrets/${name}`, { method: "PUT", json: { value: `value of ${name}`, description: `${name} key` } });
  }
  await node.createUser("ada", "ada's long password", ["admin"]);
}

async function main() {
  if (findChromium() === undefined) process.exit(1);
  mkdirSync(OUT, { recursive: true });
  const [node, browser] = await Promise.all([startNode(), launchBrowser()]);
  try {
    await seed(node);
    const pages = [{ name: "sign-in", path: "/sign-in" }, ...appPages([{ name: "service", path: "/services/openai-main" }])];
    for (const scheme of ["light", "dark"]) {
      const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(node.url);
      await page.getByRole("heading", { name: "Sign in to kAI" }).waitFor();
      await page.screenshot({ path: `${OUT}sign-in-${scheme}.png` });
      await signIn(page, node, "ada", "ada's long password");
      for (const { path } of pages.slice(1)) {
        await goInApp(page, path);
        await page.waitForLoadState("networkidle", { timeout: 2000 }).catch(() => undefined);
        const file = `${path === "/" ? "overview" : path.slice(1).replaceAll("/", "-")}-${scheme}.png`;
        await page.screenshot({ path: OUT + file });
        log(`  ${file}`);
      }
      await context.close();
    }
    log(`screenshots in ${OUT}`);
  } finally {
    await browser.close();
    await node.stop();
  }
}

main().catch((error) => {
  log(`screenshots: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
