/**
 * `kai plugin install|history|rollback|remove` end to end (issue 18): the built CLI packs a real folder and streams it
 * to a real node, which lists it; a second version replaces it, the history keeps the first, a rollback brings it back
 * and a remove takes it off the disk. Six kai invocations on one server (CI time).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { PluginDetailSchema, PluginHistoryResponseSchema } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let operator: string;

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: operator } });

function pluginFolder(version: string): string {
  const folder = join(box.dir, `echo-${version}`);
  mkdirSync(join(folder, "lib"), { recursive: true });
  writeFileSync(join(folder, "plugin.yaml"), `id: echo\nname: Echo\nentrypoint: main.js\nversion: ${version}\nnode_api: ^1\n`);
  writeFileSync(join(folder, "main.js"), `export default { version: "${version}" };\n`);
  writeFileSync(join(folder, "lib", "util.js"), "export const x = 1;\n");
  return folder;
}

beforeAll(async () => {
  box = sandbox();
  server = await startTestServer();
  const admin = createClient({ url: server.url, token: server.adminToken });
  operator = (await admin.tokens.create({ scopes: ["plugins:admin"], owner: "olga", ttl: "1h" })).token;
}, 60_000);
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai plugin lifecycle", () => {
  it("installs a folder, replaces it, lists the history, rolls back and removes", async () => {
    const installed = await kai(["plugin", "install", pluginFolder("1.0.0")]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout.trim()).toBe("echo 1.0.0");
    const live = join(server.dataDir, "plugins", "echo");
    expect(readFileSync(join(live, "lib", "util.js"), "utf8")).toBe("export const x = 1;\n");

    const list = await kai(["plugin", "list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^echo\s+1\.0\.0\s+discovered\s/m);

    const replaced = await kai(["plugin", "install", pluginFolder("1.1.0"), "--replace", "--json"]);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(PluginDetailSchema.parse(JSON.parse(replaced.stdout)).version).toBe("1.1.0");

    const history = await kai(["plugin", "history", "echo", "--json"]);
    expect(history.code, history.stderr).toBe(0);
    expect(PluginHistoryResponseSchema.parse(JSON.parse(history.stdout))).toMatchObject({ current: { version: "1.1.0" }, history: [{ version: "1.0.0", reason: "replaced" }] });

    const rolled = await kai(["plugin", "rollback", "echo", "--to", "1.0.0"]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(readFileSync(join(live, "main.js"), "utf8")).toContain("1.0.0");

    const removed = await kai(["plugin", "remove", "echo"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toMatch(/removed echo 1\.0\.0; kai plugin rollback brings it back/);
    expect(existsSync(live)).toBe(false);
  });
});
