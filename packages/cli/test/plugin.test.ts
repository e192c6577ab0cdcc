/**
 * `kai plugin` end to end: the built CLI signs a real plugin folder with a real Ed25519 key (no node involved), a node
 * configured to trust that key lists it as trusted; after a file changes, `rescan` and `show` say it is unverified and
 * which file; an unknown id exits 3 and a token without `plugins:admin` exits 4.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { klp, PluginDetailSchema, PluginSignatureSchema } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let operator: string;
let plugins: string;
let did: string;

const kai = (args: string[], token = operator) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: token } });

beforeAll(async () => {
  box = sandbox();
  plugins = join(box.dir, "plugins");
  const folder = join(plugins, "musicgen");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "plugin.yaml"), "id: plugin-musicgen\nname: AI Music Generator\nentrypoint: main.js\nversion: 0.2.1\nnode_api: ^1\npermissions: [audio_output, llm_access]\n");
  // CommonJS: the folder has no package.json saying "type": "module" (the plugin runs once enabled).
  writeFileSync(join(folder, "main.js"), "module.exports = {};\n");
  const key = klp.generateKeyPair();
  const keyFile = join(box.dir, "publisher.key");
  writeFileSync(keyFile, klp.toHex(key.secretKey));
  chmodSync(keyFile, 0o600);
  // Signing is local: no --url, no token.
  const signed = await runKai(["plugin", "sign", folder, "--key", keyFile], { cwd: box.dir, env: box.env });
  expect(signed.code, signed.stderr).toBe(0);
  did = signed.stdout.trim();
  expect(did).toBe(key.did);
  expect(PluginSignatureSchema.parse(JSON.parse(readFileSync(join(folder, "plugin.sig.json"), "utf8"))).files).toHaveProperty("main.js");
  server = await startTestServer({ plugins: { paths: [plugins], trustedKeys: [did] } });
  const admin = createClient({ url: server.url, token: server.adminToken });
  operator = (await admin.tokens.create({ scopes: ["plugins:admin"], owner: "olga", ttl: "1h" })).token;
}, 60_000);
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai plugin", () => {
  it("lists and shows a signed plugin as trusted", async () => {
    const list = await kai(["plugin", "list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^plugin-musicgen\s+0\.2\.1\s+discovered\s+disabled\s+trusted\s+config\s+-$/m);
    const show = await kai(["plugin", "show", "plugin-musicgen"]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`trusted: signed by ${did}`);
    expect(show.stdout).toMatch(/permissions:\s+audio_output, llm_access/);
  });

  it("enables a plugin (it runs) and disables it", async () => {
    const enabled = await kai(["plugin", "enable", "plugin-musicgen"]);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(enabled.stdout.trim()).toBe("plugin-musicgen: running");
    const disabled = await kai(["plugin", "disable", "plugin-musicgen"]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout.trim()).toMatch(/^plugin-musicgen: disabled/);
  });

  it("writes a new plugin from the template that runs as it is: enabled, it serves its capability", async () => {
    const made = await runKai(["plugin", "new", join(plugins, "greeter")], { cwd: box.dir, env: box.env });
    expect(made.code, made.stderr).toBe(0);
    expect(readFileSync(join(plugins, "greeter", "plugin.yaml"), "utf8")).toContain("id: greeter");
    expect((await runKai(["plugin", "new", join(plugins, "greeter")], { cwd: box.dir, env: box.env })).code).toBe(2);
    expect((await kai(["plugin", "rescan"])).code).toBe(0);
    const enabled = await kai(["plugin", "enable", "greeter"]);
    expect(enabled.stdout.trim(), enabled.stderr).toBe("greeter: running");
    const admin = createClient({ url: server.url, token: server.adminToken });
    const answer = await admin.gateway.route("greeter_greet", { name: "Ada" });
    expect(answer.response).toMatchObject({ greeting: "hello, Ada", services: expect.any(Number) });
    expect(answer.servedBy.id).toBe("plugin:greeter");
  });

  it("says which file changed after signing, once the node reads the folder again", async () => {
    writeFileSync(join(plugins, "musicgen", "main.js"), "globalThis.evil = 1;\n");
    expect((await kai(["plugin", "rescan"])).code).toBe(0);
    const show = await kai(["plugin", "show", "plugin-musicgen", "--json"]);
    expect(show.code, show.stderr).toBe(0);
    expect(PluginDetailSchema.parse(JSON.parse(show.stdout)).trust).toMatchObject({ level: "unverified", file: "main.js" });
  });

  it("refuses a folder without a valid manifest, an unknown id and a token without the scope", async () => {
    const empty = join(box.dir, "empty");
    mkdirSync(empty);
    const sign = await runKai(["plugin", "sign", empty, "--key", join(box.dir, "publisher.key")], { cwd: box.dir, env: box.env });
    expect(sign.code).toBe(2);
    expect(sign.stderr).toContain("plugin.yaml");
    expect((await kai(["plugin", "show", "nope"])).code).toBe(3);
    const admin = createClient({ url: server.url, token: server.adminToken });
    const other = (await admin.tokens.create({ scopes: ["services:read"], owner: "olga", ttl: "1h" })).token;
    expect((await kai(["plugin", "list"], other)).code).toBe(4);
  });
});
