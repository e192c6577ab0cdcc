/**
 * @module bench/prompts
 * `node bench/prompts.mjs` (after `npm run build`): the prompt store's render rate (issue 17), side by side:
 * 1. in process: `PromptService.render` over the SQLite store (synchronous=FULL), the store read and the template
 *    pass only (what a render costs the node besides HTTP);
 * 2. through the API: `POST /api/prompts/{name}/render` on a spawned `kai serve`, one at a time and 32 in flight,
 *    next to `GET /api/prompts/{name}` (the same read without the render) so the render's own share is visible.
 * The prompt is a chat template of three messages with four typed variables (string, number, boolean, json).
 * Prints figures only. BENCH_QUICK=1 for smaller counts.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../packages/server/dist/", import.meta.url));
if (!existsSync(join(DIST, "prompts/prompt-service.js"))) {
  process.stderr.write("bench/prompts: packages/server/dist is not built (run npm run build)\n");
  process.exit(1);
}
const { PromptService } = await import(join(DIST, "prompts/prompt-service.js"));
const { SqliteStore } = await import(join(DIST, "storage/sqlite/sqlite-store.js"));

const quick = process.env.BENCH_QUICK === "1";
const IN_PROCESS = quick ? 20_000 : 200_000;
const API = quick ? 2_000 : 20_000;
const log = (message) => process.stdout.write(`${message}\n`);
const perSecond = (count, startedAt) => Math.round(count / ((performance.now() - startedAt) / 1000));

const PROMPT = {
  template: [
    { role: "system", content: "You are the support assistant of {{product}}. Answer in at most {{max_words}} words. Formal: {{formal}}." },
    { role: "system", content: "Known facts (JSON): {{facts}}" },
    { role: "user", content: "A customer of {{product}} asks for help. Be precise and kind, and say when you do not know." },
  ],
  variables: [
    { name: "product" },
    { name: "max_words", type: "number" },
    { name: "formal", type: "boolean", default: false },
    { name: "facts", type: "json", required: false },
  ],
  tags: ["bench"],
};
const VARIABLES = { product: "kAI", max_words: 120, facts: { plan: "pro", seats: 12 } };
const principal = { tokenId: "bench", owner: "bench", scopes: ["prompts:read", "prompts:write"], expiresAt: Date.now() + 3_600_000 };

async function inProcess() {
  const dir = mkdtempSync(join(tmpdir(), "kai-bench-prompts-"));
  const sqlite = SqliteStore.open({ path: join(dir, "kai.db"), synchronous: "full" });
  try {
    // No vault reference in the template, so the vault is never asked.
    const prompts = new PromptService({ store: sqlite.promptStore(), vault: { getSecret: () => Promise.reject(new Error("no vault in this bench")) } });
    await prompts.save("support", { ...PROMPT, labels: ["production"] }, principal);
    for (let i = 0; i < 1000; i++) await prompts.render("support", { label: "production" }, VARIABLES, principal);
    const started = performance.now();
    for (let i = 0; i < IN_PROCESS; i++) await prompts.render("support", { label: "production" }, VARIABLES, principal);
    return perSecond(IN_PROCESS, started);
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function throughApi() {
  const { registryUnavailable, startRegistryServer } = await import("./registry/server-process.mjs");
  const why = registryUnavailable();
  if (why) return { skipped: why };
  const server = await startRegistryServer({ synchronous: "full" });
  const { Agent } = await import("undici");
  const dispatcher = new Agent({ connections: 16 });
  try {
    const headers = { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" };
    const put = await fetch(`${server.url}/api/prompts/support`, { method: "PUT", headers, body: JSON.stringify({ ...PROMPT, labels: ["production"] }) });
    if (!put.ok) return { skipped: `PUT /api/prompts answered ${put.status}: the prompt routes are not in this build` };
    const renderBody = JSON.stringify({ label: "production", variables: VARIABLES });
    const render = async () => {
      const response = await fetch(`${server.url}/api/prompts/support/render`, { method: "POST", headers, body: renderBody, dispatcher });
      if (!response.ok) throw new Error(`render answered ${response.status}`);
      await response.arrayBuffer();
    };
    const read = async () => {
      const response = await fetch(`${server.url}/api/prompts/support?label=production`, { headers, dispatcher });
      if (!response.ok) throw new Error(`read answered ${response.status}`);
      await response.arrayBuffer();
    };
    const run = async (op, total, inFlight) => {
      let sent = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (sent < total) {
          sent++;
          await op();
        }
      }));
      return perSecond(total, started);
    };
    await run(render, 500, 8);
    return {
      renderOne: await run(render, Math.round(API / 10), 1),
      render32: await run(render, API, 32),
      read32: await run(read, API, 32),
    };
  } finally {
    await dispatcher.close();
    await server.stop();
  }
}

log(`kAI prompt store benchmark${quick ? " (BENCH_QUICK)" : ""}: Node ${process.version}`);
const local = await inProcess();
const api = await throughApi();
log("");
log("| renders per second                              | figure |");
log("| ----------------------------------------------- | -----: |");
log(`| in process (PromptService.render, SQLite)       | ${String(local).padStart(6)} |`);
if (api.skipped) {
  log(`| through the API                                 | skipped: ${api.skipped} |`);
} else {
  log(`| API render, one at a time                       | ${String(api.renderOne).padStart(6)} |`);
  log(`| API render, 32 in flight                        | ${String(api.render32).padStart(6)} |`);
  log(`| API read of the same version, 32 in flight      | ${String(api.read32).padStart(6)} |`);
}
