/**
 * `kai plugin install TARBALL` and `kai plugin update` end to end (issue 18, docs/plugins.md "Install, update, remove,
 * roll back"): the built CLI sends a .tar.gz package to a real node as it is; the plugin is enabled and runs; an update
 * from a signed update manifest (read from a URL, its package served by a real HTTP server here) replaces it; an
 * update whose new version fails its health check is rolled back by the node, and the CLI says so with the API's exit
 * code (6, `plugin_start_failed`) while the previous version keeps running. The packages are signed by a key the node
 * trusts, so the plugin runs on a machine without bubblewrap too.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { klp, PluginDetailSchema } from "@kai/protocol";
import { signPluginFolder } from "@kai/server";
import { packFolder } from "../../server/test/plugins/plugin-package-fixtures.js";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

const publisher = klp.generateKeyPair();

let server: TestServer;
let box: Sandbox;
let operator: string;
let web: Server;
let base: string;
/** What the package server answers, by path. */
const served = new Map<string, Buffer>();

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: operator } });

/** A signed package of `greet` at `version` (.tar.gz bytes); its health check fails when `healthy` is false. */
async function greetPackage(version: string, healthy = true): Promise<Buffer> {
  const folder = join(box.dir, "src", `greet-${version}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "plugin.yaml"), `id: greet\nname: Greet\nentrypoint: main.mjs\nversion: ${version}\nnode_api: ^1\ncapabilities:\n  - name: greet_version\n`);
  writeFileSync(join(folder, "main.mjs"), `export default { capabilities: { greet_version: () => "${version}", health: () => ({ ok: ${healthy} }) } };\n`);
  await signPluginFolder(folder, { id: "greet", version }, publisher);
  return packFolder(folder);
}

/** Serves the package and writes its update manifest, signed by the trusted key; returns the manifest's URL. */
function publish(version: string, bytes: Buffer): string {
  served.set(`/greet-${version}.tar.gz`, bytes);
  const manifest = klp.signDocument({ plugin: "greet", latest: version, url: `${base}/greet-${version}.tar.gz`, checksum: createHash("sha256").update(bytes).digest("hex"), did: publisher.did }, publisher);
  served.set(`/greet-${version}.json`, Buffer.from(JSON.stringify(manifest)));
  return `${base}/greet-${version}.json`;
}

async function running(): Promise<string> {
  const admin = createClient({ url: server.url, token: server.adminToken });
  const answer = await admin.gateway.route("greet_version", {});
  return String(answer.response);
}

beforeAll(async () => {
  box = sandbox();
  web = createServer((request, response) => {
    const body = served.get(request.url ?? "");
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": request.url?.endsWith(".json") ? "application/json" : "application/gzip" }).end(body);
  });
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  server = await startTestServer({ rateLimit: { enabled: false }, plugins: { trustedKeys: [publisher.did] } });
  const admin = createClient({ url: server.url, token: server.adminToken });
  operator = (await admin.tokens.create({ scopes: ["plugins:admin", "gateway:invoke"], owner: "olga", ttl: "1h" })).token;
}, 60_000);
afterAll(async () => {
  await server?.close();
  web?.close();
  box?.cleanup();
});

describe("kai plugin install TARBALL and update", () => {
  it("installs a .tar.gz as it is, and the enabled plugin runs", async () => {
    const tarball = join(box.dir, "greet-1.0.0.tar.gz");
    writeFileSync(tarball, await greetPackage("1.0.0"));
    const installed = await kai(["plugin", "install", tarball]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout.trim()).toBe("greet 1.0.0");
    expect(installed.stderr).toMatch(/installed greet 1\.0\.0 \(discovered; trusted: /);
    expect(readFileSync(join(server.dataDir, "plugins", "greet", "main.mjs"), "utf8")).toContain("1.0.0");
    const enabled = await kai(["plugin", "enable", "greet"]);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(await running()).toBe("1.0.0");
  });

  it("updates from a signed update manifest at a URL; the new version runs", async () => {
    const updated = await kai(["plugin", "update", "greet", "--manifest", publish("1.1.0", await greetPackage("1.1.0")), "--json"]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(PluginDetailSchema.parse(JSON.parse(updated.stdout))).toMatchObject({ id: "greet", version: "1.1.0", trust: { level: "trusted" } });
    expect(await running()).toBe("1.1.0");
  });

  it("shows a rolled-back update: exit code 6, plugin_start_failed, and the previous version keeps running", async () => {
    const manifestFile = join(box.dir, "greet-2.0.0.json");
    // The manifest from a file this time (the package still from its URL).
    publish("2.0.0", await greetPackage("2.0.0", false));
    writeFileSync(manifestFile, served.get("/greet-2.0.0.json")!);
    const failed = await kai(["plugin", "update", "greet", "--manifest", manifestFile]);
    expect(failed.code).toBe(6);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toMatch(/greet 2\.0\.0 failed its start or health check \(.*says it is not healthy.*\); 1\.1\.0 was put back/);
    expect(failed.stderr).toMatch(/plugin_start_failed/);
    expect(await running()).toBe("1.1.0");
    const history = await kai(["plugin", "history", "greet", "--json"]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toMatchObject({ current: { version: "1.1.0" } });
  });
});
