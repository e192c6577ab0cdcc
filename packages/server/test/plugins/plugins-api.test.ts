// /api/plugins through a real node (issue 18): the node starts with a broken plugin in its folder and lists it with
// its problems; a plugin signed by a configured key is trusted, one signed by a trusted federation peer's node key is
// trusted when plugins.trustPeers is on; a rescan after tampering says which file changed; the scope is plugins:admin;
// hostile ids answer 4xx in the error shape.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, klp, PluginDetailSchema, PluginListResponseSchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { makePlugin, seedManifest } from "./plugin-fixtures.js";
import { addPeer } from "../federation/support.js";

const publisher = klp.generateKeyPair();
let dataDir: string;
let extra: string;
let server: TestServer;
let peer: TestServer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugins-api-"));
  extra = mkdtempSync(join(tmpdir(), "kai-plugins-extra-"));
  const plugins = join(dataDir, "plugins");
  const signed = makePlugin(plugins, "musicgen", seedManifest());
  await signPluginFolder(signed, { id: "plugin-musicgen", version: "0.2.1" }, publisher);
  makePlugin(plugins, "broken", seedManifest({ id: "broken", entrypoint: "../../outside.js" }));
  makePlugin(extra, "weather", seedManifest({ id: "weather", permissions: ["network:api.weather.example"] }));
  server = await startTestServer({ keepDataDir: dataDir, config: { plugins: { trustedKeys: [publisher.did], paths: [extra], trustPeers: true } } });
  peer = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  await peer?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(extra, { recursive: true, force: true });
});

async function listing(token?: string) {
  const response = await server.request("/api/plugins", token === undefined ? {} : { token });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return PluginListResponseSchema.parse(await response.json());
}

describe("GET /api/plugins", () => {
  it("lists what the node found at start, the broken plugin with its file and field", async () => {
    const list = await listing();
    expect(list.apiVersion).toBe("1.0.0");
    const byId = Object.fromEntries(list.plugins.map((plugin) => [plugin.id, plugin]));
    expect(byId["plugin-musicgen"]).toMatchObject({ source: "data", state: "discovered", trust: { level: "trusted", signer: publisher.did } });
    expect(byId.weather).toMatchObject({ source: "config", state: "discovered", trust: { level: "unverified", reason: expect.stringMatching(/not signed/) } });
    expect(byId.broken).toMatchObject({ state: "invalid", errors: [{ file: join(dataDir, "plugins", "broken", "plugin.yaml"), field: "entrypoint" }] });
    // The node said so in its log, once, without the manifest's contents.
    expect(server.logs.some((line) => line.includes("plugin broken is invalid: entrypoint"))).toBe(true);
  });

  it("needs plugins:admin (admin implies it; the operator role has it)", async () => {
    const without = await mintToken(server, ["services:read", "config:admin", "agents:write"]);
    for (const [method, path] of [["GET", "/api/plugins"], ["GET", "/api/plugins/plugin-musicgen"], ["POST", "/api/plugins/rescan"]] as const) {
      const denied = await server.request(path, { method, token: without });
      expect(denied.status, path).toBe(403);
      expect(ErrorBodySchema.parse(await denied.json()).error.code).toBe("forbidden");
      expect((await server.request(path, { method, token: null })).status, path).toBe(401);
    }
    const holder = await mintToken(server, ["plugins:admin"]);
    expect((await listing(holder)).plugins.length).toBe(3);
    const roles = (await (await server.request("/api/roles")).json()) as { roles: { name: string; scopes: string[] }[] };
    expect(roles.roles.find((role) => role.name === "operator")?.scopes).toContain("plugins:admin");
    expect(roles.roles.find((role) => role.name === "viewer")?.scopes).not.toContain("plugins:admin");
  });
});

describe("GET /api/plugins/{id}", () => {
  it("shows the manifest, the trust level and why, the compatibility check and the folder", async () => {
    const response = await server.request("/api/plugins/plugin-musicgen");
    expect(response.status).toBe(200);
    const detail = PluginDetailSchema.parse(await response.json());
    expect(detail.manifest).toMatchObject({ id: "plugin-musicgen", permissions: ["audio_output", "llm_access"], ui: { menu: true, icon: "music.svg" } });
    expect(detail.trust.reason).toMatch(/trusted key; every file matches/);
    expect(detail.compatibility).toMatchObject({ compatible: true, range: "^1.0.0", apiVersion: "1.0.0" });
    expect(detail.path).toBe(join(dataDir, "plugins", "musicgen"));
    const broken = PluginDetailSchema.parse(await (await server.request("/api/plugins/broken")).json());
    expect(broken.manifest).toBeUndefined();
    expect(broken.compatibility.compatible).toBe(false);
  });

  it("answers hostile ids with a 4xx in the error shape, never a file or a 5xx", async () => {
    const ids = ["nope", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "plugin-musicgen%00", "%F0%9F%92%A9", "x".repeat(256), "%25", "__proto__", "constructor", "a%2Fb"];
    for (const id of ids) {
      const response = await server.request(`/api/plugins/${id}`);
      expect(response.status, id).toBeGreaterThanOrEqual(400);
      expect(response.status, id).toBeLessThan(500);
      const body = ErrorBodySchema.parse(await response.json());
      expect(JSON.stringify(body)).not.toMatch(/root:|at .*\.ts:\d+/);
    }
    expect((await server.request(`/api/plugins/${"x".repeat(256)}`)).status).toBe(400);
    expect((await server.request("/api/plugins/nope")).status).toBe(404);
  });
});

describe("POST /api/plugins/rescan", () => {
  it("sees a file changed after signing, and names it", async () => {
    writeFileSync(join(dataDir, "plugins", "musicgen", "main.js"), "globalThis.evil = true;\n");
    const response = await server.request("/api/plugins/rescan", { method: "POST" });
    expect(response.status).toBe(200);
    const list = PluginListResponseSchema.parse(await response.json());
    expect(list.plugins.find((plugin) => plugin.id === "plugin-musicgen")?.trust).toMatchObject({ level: "unverified", file: "main.js", reason: "file changed after signing: main.js" });
  });

  it("trusts a plugin signed by a trusted federation peer's node key, and stops when the peer is no longer trusted", async () => {
    const seed = klp.fromBase64Url(peer.nodeKey.privateKey.export({ format: "jwk" }).d ?? "");
    const peerKey = klp.keyPairFromSeed(seed ?? new Uint8Array());
    expect((await addPeer(server, peer)).status).toBe(201);
    const dir = makePlugin(join(dataDir, "plugins"), "from-peer", seedManifest({ id: "from-peer" }));
    await signPluginFolder(dir, { id: "from-peer", version: "0.2.1" }, peerKey);
    const trusted = PluginListResponseSchema.parse(await (await server.request("/api/plugins/rescan", { method: "POST" })).json());
    expect(trusted.plugins.find((plugin) => plugin.id === "from-peer")?.trust).toMatchObject({ level: "trusted", signer: peerKey.did });

    const untrust = await server.request(`/api/peers/${encodeURIComponent(peerKey.did)}`, { method: "PATCH", json: { trusted: false } });
    expect(untrust.status, await untrust.clone().text()).toBe(200);
    const after = PluginListResponseSchema.parse(await (await server.request("/api/plugins/rescan", { method: "POST" })).json());
    expect(after.plugins.find((plugin) => plugin.id === "from-peer")?.trust).toMatchObject({ level: "unverified", signer: peerKey.did, reason: expect.stringMatching(/does not trust/) });
  });

  it("lists a configured path that disappeared as a problem, and keeps serving", async () => {
    rmSync(extra, { recursive: true, force: true });
    const list = PluginListResponseSchema.parse(await (await server.request("/api/plugins/rescan", { method: "POST" })).json());
    expect(list.errors).toEqual([{ file: extra, message: "does not exist" }]);
    expect(list.plugins.some((plugin) => plugin.id === "weather")).toBe(false);
    mkdirSync(extra, { recursive: true });
    expect((await server.request("/healthz", { token: null })).status).toBe(200);
  });
});
