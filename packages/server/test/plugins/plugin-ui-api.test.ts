// Plugin UIs (issue 18): GET /api/plugins/{id}/ui answers a running plugin's page with the capabilities it may call,
// GET /api/plugins/{id}/ui/page the page as a sandboxed document with its own policy, and GET /api/plugin-uis lists such plugins for the web app's menu (scope gateway:invoke). A plugin without a page
// (or with ui.menu false) has none (404), one that is not running is 503 plugin_unavailable, a page reached through a
// symbolic link or larger than the cap is refused, and a page path leaving the folder is refused by the manifest
// schema. GET /api/plugins/{id}/ui/icon answers its ui.icon under the same rules, as the image type its extension
// names, with nosniff and a policy that lets nothing run. Real plugin processes: run `npx tsc -b packages/server` first (the built host script).
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, PLUGIN_UI_MAX_BYTES, PluginManifestSchema, PluginUiListResponseSchema, PluginUiResponseSchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { makePlugin } from "./plugin-fixtures.js";

const MAIN = "export default { capabilities: { ui_echo: async (input) => ({ echoed: input }) } };\n";
const PAGE = "<!doctype html><title>Echo</title><p>echo</p><script>parent.postMessage({kai: 1, id: 1, type: 'invoke', capability: 'ui_echo', input: 1}, '*')</script>";

const CANARY = "outside-the-plugin-folder-4d2e";
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><script>alert(1)</script><circle cx="4" cy="4" r="4"/></svg>`;

const manifest = (id: string, ui?: Record<string, unknown>) => ({
  id, name: `Plugin ${id}`, entrypoint: "main.mjs", version: "1.0.0", capabilities: [{ name: "ui_echo" }], ...(ui ? { ui } : {}),
});

let dataDir: string;
let server: TestServer;
let invoker: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-ui-"));
  const plugins = join(dataDir, "plugins");
  makePlugin(plugins, "echo-ui", manifest("echo-ui", { menu: true, page: "ui/index.html", icon: "ui/icon.svg" }), { "main.mjs": MAIN, "ui/index.html": PAGE, "ui/icon.svg": ICON });
  makePlugin(plugins, "no-page", manifest("no-page", { menu: true }), { "main.mjs": MAIN });
  makePlugin(plugins, "no-menu", manifest("no-menu", { menu: false, page: "index.html", icon: "icon.svg" }), { "main.mjs": MAIN, "index.html": PAGE, "icon.svg": ICON });
  makePlugin(plugins, "stopped-ui", manifest("stopped-ui", { menu: true, page: "index.html", icon: "icon.svg" }), { "main.mjs": MAIN, "index.html": PAGE, "icon.svg": ICON });
  makePlugin(plugins, "big-ui", manifest("big-ui", { menu: true, page: "index.html", icon: "icon.html" }), { "main.mjs": MAIN, "index.html": "x".repeat(PLUGIN_UI_MAX_BYTES + 1), "icon.html": PAGE });
  const linked = makePlugin(plugins, "linked-ui", manifest("linked-ui", { menu: true, page: "index.html", icon: "icon.svg" }), { "main.mjs": MAIN });
  writeFileSync(join(dataDir, "outside.html"), CANARY);
  symlinkSync(join(dataDir, "outside.html"), join(linked, "index.html"));
  symlinkSync(join(dataDir, "outside.html"), join(linked, "icon.svg"));
  server = await startTestServer({ keepDataDir: dataDir });
  await Promise.all(["echo-ui", "no-page", "no-menu", "big-ui", "linked-ui"].map(async (id) => {
    const enabled = await server.request(`/api/plugins/${id}/enable`, { method: "POST" });
    expect(enabled.status, await enabled.clone().text()).toBe(200);
  }));
  invoker = await mintToken(server, ["gateway:invoke"], "bob");
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

async function ui(id: string): Promise<Response> {
  return server.request(`/api/plugins/${id}/ui`, { token: invoker });
}

async function errorCode(response: Response): Promise<string> {
  return ErrorBodySchema.parse(await response.json()).error.code;
}

describe("plugin UIs", { timeout: 30_000 }, () => {
  it("answers a running plugin's page and the capabilities it may call, and lists it for the menu", async () => {
    const response = await ui("echo-ui");
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(PluginUiResponseSchema.parse(await response.json())).toEqual({ id: "echo-ui", name: "Plugin echo-ui", capabilities: ["ui_echo"], icon: true, html: PAGE });

    const listed = await server.request("/api/plugin-uis", { token: invoker });
    expect(listed.status).toBe(200);
    // Only running plugins with a menu entry and a page (big-ui and linked-ui have one; reading it is refused later).
    const entries = PluginUiListResponseSchema.parse(await listed.json()).plugins;
    expect(entries.map((plugin) => plugin.id).sort()).toEqual(["big-ui", "echo-ui", "linked-ui"]);
    // An icon of a type not served (icon.html) is no icon.
    expect(Object.fromEntries(entries.map((plugin) => [plugin.id, plugin.icon ?? false]))).toEqual({ "big-ui": false, "echo-ui": true, "linked-ui": true });
  });

  it("serves its icon as the image type its extension names, with nothing in it allowed to run", async () => {
    const response = await server.request("/api/plugins/echo-ui/ui/icon", { token: invoker });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/svg+xml");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toMatch(/^sandbox;/);
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toContain("script-src");
    expect(await response.text()).toBe(ICON);
    const status = async (id: string) => (await server.request(`/api/plugins/${id}/ui/icon`, { token: invoker })).status;
    // Not running; ui.menu false; a link out of the folder; a type not served; no such plugin.
    expect(await status("stopped-ui")).toBe(503);
    expect(await status("no-menu")).toBe(404);
    const linked = await server.request("/api/plugins/linked-ui/ui/icon", { token: invoker });
    expect(linked.status).toBe(404);
    expect(await linked.text()).not.toContain(CANARY);
    expect(await status("big-ui")).toBe(404);
    expect(await status("nobody")).toBe(404);
  });

  it("serves the page as a sandboxed document that can fetch nothing, for the web app's frame", async () => {
    const response = await server.request("/api/plugins/echo-ui/ui/page", { token: invoker });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("sandbox allow-scripts;");
    expect(policy).not.toContain("allow-same-origin");
    expect(policy).toContain("default-src 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await response.text()).toBe(PAGE);
    expect((await server.request("/api/plugins/stopped-ui/ui/page", { token: invoker })).status).toBe(503);
    expect((await server.request("/api/plugins/linked-ui/ui/page", { token: invoker })).status).toBe(404);
  });

  it("has no page for a plugin without ui.page or with ui.menu false, nor for an unknown plugin (404)", async () => {
    for (const id of ["no-page", "no-menu", "nobody"]) {
      const response = await ui(id);
      expect(response.status, id).toBe(404);
      expect(await errorCode(response)).toBe("not_found");
    }
  });

  it("is 503 plugin_unavailable for a plugin that is not running", async () => {
    const response = await ui("stopped-ui");
    expect(response.status).toBe(503);
    expect(await errorCode(response)).toBe("plugin_unavailable");
  });

  it("refuses a page reached through a symbolic link, and one past the size cap", async () => {
    const linked = await ui("linked-ui");
    expect(linked.status).toBe(404);
    expect(JSON.stringify(await linked.json())).not.toContain(CANARY);
    const big = await ui("big-ui");
    expect(big.status).toBe(413);
    expect(await errorCode(big)).toBe("payload_too_large");
  });

  it("needs gateway:invoke", async () => {
    const token = await mintToken(server, ["services:read"], "carol");
    expect((await server.request("/api/plugins/echo-ui/ui", { token })).status).toBe(403);
    expect((await server.request("/api/plugin-uis", { token })).status).toBe(403);
    expect((await server.request("/api/plugins/echo-ui/ui/page", { token })).status).toBe(403);
    expect((await server.request("/api/plugins/echo-ui/ui/icon", { token })).status).toBe(403);
  });
});

describe("the ui.page field", () => {
  it("must be a path inside the plugin folder", () => {
    for (const page of ["../outside.html", "/etc/passwd", "ui/../../x.html", ".hidden.html", "ui\\index.html"]) {
      const parsed = PluginManifestSchema.safeParse(manifest("bad", { menu: true, page }));
      expect(parsed.success, page).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(["ui", "page"]);
    }
    expect(PluginManifestSchema.parse(manifest("good", { menu: true, page: "ui/index.html" })).ui).toEqual({ menu: true, page: "ui/index.html" });
  });
});
