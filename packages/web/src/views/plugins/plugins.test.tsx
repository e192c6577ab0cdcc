// The Plugins view against a real node with a real plugin folder: the server's build in a process of its own (run
// `npx tsc -b packages/server` first; see startBuiltNode for why not the harness's in-process node). The listing shows the plugin with its version, state, run state, trust level
// and why, and source; "Details" shows its permissions and capabilities; "Enable" starts it, after which the menu's
// Plugins group links to its UI page (with its icon, served by the node), shown in a sandboxed frame; "Disable" stops it. A session without
// plugins:admin sees no Plugins page in the menu.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { z } from "zod";
import { parseJson } from "@kai/protocol";
import { renderApp, type TestServer } from "../../test-support/app-harness";

configure({ asyncUtilTimeout: 15_000 });

const MANIFEST = `id: echo-ui
name: Echo UI
entrypoint: main.mjs
version: 1.2.3
permissions: [registry_read]
ui: { menu: true, page: ui.html, icon: icon.svg }
capabilities:
  - name: ui_echo
    description: says it back
`;

let node: TestServer;
let dataDir: string;

/** The node's script: the server's build, started in a process of its own; it prints where it listens. */
const NODE_SCRIPT = `
const { startServer } = await import(process.env.KAI_SERVER_ENTRY);
const server = await startServer({ port: 0, host: "127.0.0.1", quiet: true, dataDir: process.env.KAI_DATA_DIR,
  config: { rateLimit: { enabled: false }, logging: { file: false } }, env: {} });
process.stdout.write(JSON.stringify({ url: server.url, adminToken: server.adminToken }) + "\\n");
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
`;

const ListeningSchema = z.object({ url: z.string(), adminToken: z.string() });

let child: ChildProcess | undefined;

/**
 * A real node from the server's build (`npx tsc -b packages/server`), in a process of its own. The app harness's
 * in-process node is loaded through this project's (jsdom) transform, which rewrites `new URL("./x", import.meta.url)`
 * into a URL of the test page: that node cannot find the plugin host script, so no plugin could start in it.
 */
async function startBuiltNode(): Promise<TestServer> {
  dataDir = mkdtempSync(join(tmpdir(), "kai-web-plugins-"));
  const entry = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "../../../../server/dist/index.js")).href;
  const started = spawn(process.execPath, ["--input-type=module", "-e", NODE_SCRIPT], {
    env: { PATH: process.env.PATH ?? "", KAI_SERVER_ENTRY: entry, KAI_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "inherit"],
  });
  child = started;
  const { url, adminToken } = await new Promise<{ url: string; adminToken: string }>((resolve, reject) => {
    let out = "";
    started.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (!out.includes("\n")) return;
      const parsed = parseJson(out.slice(0, out.indexOf("\n")));
      if (parsed.ok) resolve(ListeningSchema.parse(parsed.value));
      else reject(new Error(`the node printed ${out.slice(0, 200)}`));
    });
    started.once("exit", (code) => reject(new Error(`the node exited (${code}) before it listened: is packages/server built?`)));
  });
  const request: TestServer["request"] = (path, init = {}) => {
    const { token, json, headers, ...rest } = init;
    const all = new Headers(headers);
    const bearer = token === undefined ? adminToken : token;
    if (bearer !== null) all.set("authorization", `Bearer ${bearer}`);
    if (json !== undefined) all.set("content-type", "application/json");
    return fetch(url + path, { ...rest, headers: all, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
  const dispose = async () => {
    if (started.exitCode !== null) return;
    const exited = new Promise((done) => started.once("exit", done));
    started.kill("SIGTERM");
    await exited;
  };
  return { url, adminToken, dataDir, logs: [], request, dispose };
}

beforeAll(async () => {
  node = await startBuiltNode();
  const folder = join(dataDir, "plugins", "echo-ui");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "plugin.yaml"), MANIFEST);
  writeFileSync(join(folder, "main.mjs"), "export default { capabilities: { ui_echo: async (input) => input } };\n");
  writeFileSync(join(folder, "ui.html"), "<!doctype html><title>Echo</title><p>echo</p>");
  writeFileSync(join(folder, "icon.svg"), `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>`);
  const rescan = await node.request("/api/plugins/rescan", { method: "POST" });
  expect(rescan.status).toBe(200);
}, 60_000);
afterAll(async () => {
  await node?.dispose();
  if (child && child.exitCode === null) child.kill("SIGKILL");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const row = async () => within(await screen.findByRole("table", { name: "Plugins" })).getByRole("row", { name: /echo-ui/ });

describe("the Plugins view", { timeout: 60_000 }, () => {
  it("lists a plugin, enables it (its UI joins the menu, in a sandboxed frame) and disables it", async () => {
    renderApp(node, { path: "/plugins" });
    await screen.findByRole("heading", { level: 1, name: "Plugins" });
    const listed = await row();
    for (const text of ["Echo UI", "1.2.3", "discovered", "disabled", "unverified", "data"]) expect(listed.textContent).toContain(text);

    const user = userEvent.setup();
    await user.click(within(listed).getByRole("button", { name: "Details of echo-ui" }));
    expect(await screen.findByText("registry_read")).toBeTruthy();
    expect(await screen.findByText("ui_echo")).toBeTruthy();

    await user.click(within(listed).getByRole("button", { name: "Enable echo-ui" }));
    await waitFor(async () => expect((await row()).textContent).toContain("running"));
    expect(within(await row()).getByRole("button", { name: "Disable echo-ui" })).toBeTruthy();

    // The menu's Plugins group now links to its page (with its icon), a frame that may run scripts but is no origin of ours.
    const entry = await screen.findByTestId("nav-plugin-echo-ui");
    expect(within(entry).getByTestId("nav-plugin-icon-echo-ui").getAttribute("src")).toBe(`${node.url}/api/plugins/echo-ui/ui/icon`);
    const icon = await node.request("/api/plugins/echo-ui/ui/icon");
    expect([icon.status, icon.headers.get("content-type")]).toEqual([200, "image/svg+xml"]);
    await user.click(entry);
    await screen.findByRole("heading", { level: 1, name: "Echo UI" });
    const frame = await screen.findByTitle("Echo UI (plugin)");
    expect(frame.getAttribute("sandbox")).toBe("allow-scripts");
    expect(frame.getAttribute("src")).toBe(`${node.url}/api/plugins/echo-ui/ui/page`);

    await user.click(screen.getByTestId("nav-plugins"));
    await user.click(within(await row()).getByRole("button", { name: "Disable echo-ui" }));
    await waitFor(async () => expect((await row()).textContent).toContain("disabled"));
    await waitFor(() => expect(screen.queryByTestId("nav-plugin-echo-ui")).toBeNull());
  });

  it("is not in the menu without plugins:admin", async () => {
    // Minted here: the harness's mintToken loads the server's sources into this process, seconds for nothing.
    const minted = await node.request("/api/tokens", { method: "POST", json: { scopes: ["services:read", "gateway:invoke"], owner: "bob" } });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    renderApp(node, { token, path: "/plugins" });
    await screen.findByRole("heading", { level: 1, name: "Not available" });
    expect(screen.getByTestId("nav-services")).toBeTruthy();
    expect(screen.queryByTestId("nav-plugins")).toBeNull();
  });
});
