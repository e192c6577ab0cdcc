// The plugin lifecycle routes through a real node (issue 18): install a .tar.gz (the catalog lists it at once), a
// conflict and a replace, the history, a rollback, a signed update served by a real HTTP server, remove and its
// rollback; every route needs plugins:admin; a refused package answers in the error shape and leaves nothing behind;
// a signed package changed after signing installs as unverified, naming the changed file; every install, update,
// rollback, remove and rescan, done or refused, is in the security log with who made it.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, klp, PluginDetailSchema, PluginHistoryResponseSchema, PluginListResponseSchema, PluginRemoveResponseSchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { makePlugin } from "./plugin-fixtures.js";
import { manifestText, packFolder, rawTar } from "./plugin-package-fixtures.js";

const publisher = klp.generateKeyPair();
let dataDir: string;
let sources: string;
let server: TestServer;
let http: Server;
const served = new Map<string, Buffer>();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-lifecycle-api-"));
  sources = mkdtempSync(join(tmpdir(), "kai-plugin-lifecycle-src-"));
  server = await startTestServer({ keepDataDir: dataDir, config: { plugins: { trustedKeys: [publisher.did], historyLimit: 3 } } });
  http = createServer((request, response) => {
    const body = served.get(request.url ?? "");
    if (!body) return response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/gzip" }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  await new Promise((resolve) => http.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(sources, { recursive: true, force: true });
});

async function pack(id: string, version: string): Promise<Buffer> {
  return packFolder(makePlugin(join(sources, `${id}-${version}`), id, manifestText(id, version), { "main.js": `export default { v: "${version}" };\n` }));
}

function install(bytes: Buffer, query = "", token?: string): Promise<Response> {
  return server.request(`/api/plugins/install${query}`, { method: "POST", body: bytes, headers: { "content-type": "application/gzip" }, ...(token === undefined ? {} : { token }) });
}

async function expectCode(response: Response, status: number, code: string): Promise<string> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = ErrorBodySchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  return body.error.message;
}

describe("plugin lifecycle over the API", () => {
  it("installs, refuses a second install, replaces, lists the history and rolls back", async () => {
    const created = await install(await pack("echo", "1.0.0"));
    expect(created.status, await created.clone().text()).toBe(201);
    expect(created.headers.get("location")).toBe("/api/plugins/echo");
    expect(PluginDetailSchema.parse(await created.json())).toMatchObject({ id: "echo", version: "1.0.0", source: "data", state: "discovered", path: join(dataDir, "plugins", "echo") });
    const listing = PluginListResponseSchema.parse(await (await server.request("/api/plugins")).json());
    expect(listing.plugins.map((plugin) => plugin.id)).toContain("echo");

    expect(await expectCode(await install(await pack("echo", "1.1.0")), 409, "conflict")).toMatch(/already installed \(1\.0\.0\)/);
    const replaced = await install(await pack("echo", "1.1.0"), "?replace=true");
    expect(replaced.status).toBe(201);
    expect(PluginDetailSchema.parse(await replaced.json()).version).toBe("1.1.0");

    const history = PluginHistoryResponseSchema.parse(await (await server.request("/api/plugins/echo/history")).json());
    expect(history).toMatchObject({ id: "echo", current: { version: "1.1.0" }, history: [{ version: "1.0.0", reason: "replaced" }] });

    const rolled = await server.request("/api/plugins/echo/rollback", { method: "POST", json: {} });
    expect(rolled.status, await rolled.clone().text()).toBe(200);
    expect(PluginDetailSchema.parse(await rolled.json()).version).toBe("1.0.0");
  });

  it("updates from a signed update manifest, and refuses one that is not newer", async () => {
    const bytes = await pack("echo", "2.0.0");
    served.set("/echo-2.0.0.tar.gz", bytes);
    const manifest = klp.signDocument({ plugin: "echo", latest: "2.0.0", url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/echo-2.0.0.tar.gz`, checksum: createHash("sha256").update(bytes).digest("hex"), did: publisher.did }, publisher);
    const updated = await server.request("/api/plugins/echo/update", { method: "POST", json: { manifest } });
    expect(updated.status, await updated.clone().text()).toBe(200);
    expect(PluginDetailSchema.parse(await updated.json()).version).toBe("2.0.0");
    await expectCode(await server.request("/api/plugins/echo/update", { method: "POST", json: { manifest } }), 409, "conflict");
    await expectCode(await server.request("/api/plugins/echo/update", { method: "POST", json: { manifest: { ...manifest, latest: "3.0.0" } } }), 400, "validation_failed");
  });

  it("removes into the history, rolls the remove back, and purges", async () => {
    const removed = await server.request("/api/plugins/echo", { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect(PluginRemoveResponseSchema.parse(await removed.json())).toEqual({ id: "echo", version: "2.0.0", purged: false });
    await expectCode(await server.request("/api/plugins/echo"), 404, "not_found");
    const back = await server.request("/api/plugins/echo/rollback", { method: "POST", json: { version: "2.0.0" } });
    expect(back.status, await back.clone().text()).toBe(200);
    expect((await server.request("/api/plugins/echo")).status).toBe(200);
    expect((await server.request("/api/plugins/echo?purge=true", { method: "DELETE" })).status).toBe(200);
    expect(PluginHistoryResponseSchema.parse(await (await server.request("/api/plugins/echo/history")).json()).history).toEqual([]);
  });

  it("refuses a hostile package in the error shape and leaves nothing behind", async () => {
    const link = rawTar([{ path: "plugin.yaml", body: manifestText("linky", "1.0.0") }, { path: "main.js", type: "SymbolicLink", linkpath: "/etc/passwd", size: 0 }]);
    expect(await expectCode(await install(link), 400, "validation_failed")).toMatch(/symbolic link/);
    await expectCode(await install(Buffer.from("not a tarball at all")), 400, "validation_failed");
    const json = await server.request("/api/plugins/install", { method: "POST", json: { plugin: "x" } });
    await expectCode(json, 415, "unsupported_media_type");
    expect(readdirSync(join(dataDir, "plugins", ".staging"))).toEqual([]);
    expect(existsSync(join(dataDir, "plugins", "linky"))).toBe(false);
    expect((await server.request("/healthz", { token: null })).status).toBe(200);
  });

  it("installs a signed package changed after signing as unverified, naming the changed file", async () => {
    const folder = makePlugin(join(sources, "signed-1.0.0"), "signed", manifestText("signed", "1.0.0"), { "main.js": "export default {};\n", "lib/util.js": "export const x = 1;\n" });
    await signPluginFolder(folder, { id: "signed", version: "1.0.0" }, publisher);
    const intact = await install(await packFolder(folder));
    expect(intact.status, await intact.clone().text()).toBe(201);
    expect(PluginDetailSchema.parse(await intact.json()).trust.level).toBe("trusted");
    writeFileSync(join(folder, "lib", "util.js"), "export const x = 2; // changed after signing\n");
    const tampered = await install(await packFolder(folder), "?replace=true");
    expect(tampered.status, await tampered.clone().text()).toBe(201);
    const detail = PluginDetailSchema.parse(await tampered.json());
    expect(detail.trust).toMatchObject({ level: "unverified", file: "lib/util.js" });
    expect(JSON.stringify(detail.trust)).toMatch(/lib\/util\.js/);
    expect((await server.request("/api/plugins/signed?purge=true", { method: "DELETE" })).status).toBe(200);
  });

  it("puts every install, update, rollback, remove and rescan in the security log, done or refused", async () => {
    expect((await server.request("/api/plugins/rescan", { method: "POST" })).status).toBe(200);
    const events = async (type: string) => {
      const response = await server.request(`/api/security/events?type=${type}&limit=50`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { events: Array<{ outcome: string; actor: string | null; details: Record<string, unknown> }> }).events;
    };
    const installs = await events("plugin.install");
    expect(installs).toEqual(expect.arrayContaining([
      expect.objectContaining({ outcome: "success", actor: "admin", details: expect.objectContaining({ plugin: "echo", version: "1.0.0", replaced: null }) }),
      expect.objectContaining({ outcome: "success", details: expect.objectContaining({ plugin: "echo", version: "1.1.0", replaced: "1.0.0" }) }),
      expect.objectContaining({ outcome: "failure", actor: "admin", details: expect.objectContaining({ error: "conflict" }) }),
      expect.objectContaining({ outcome: "failure", details: expect.objectContaining({ error: "validation_failed", reason: expect.stringMatching(/symbolic link/) }) }),
    ]));
    expect(await events("plugin.update")).toEqual(expect.arrayContaining([
      expect.objectContaining({ outcome: "success", actor: "admin", details: expect.objectContaining({ plugin: "echo", version: "2.0.0", latest: "2.0.0" }) }),
      expect.objectContaining({ outcome: "failure", details: expect.objectContaining({ plugin: "echo", error: "conflict" }) }),
    ]));
    expect(await events("plugin.rollback")).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: "success", actor: "admin", details: expect.objectContaining({ plugin: "echo", version: "1.0.0" }) })]));
    expect(await events("plugin.remove")).toEqual(expect.arrayContaining([
      expect.objectContaining({ outcome: "success", actor: "admin", details: expect.objectContaining({ plugin: "echo", version: "2.0.0", purge: false }) }),
      expect.objectContaining({ outcome: "success", details: expect.objectContaining({ plugin: "echo", purge: true }) }),
    ]));
    expect((await events("plugin.rescan"))[0]).toMatchObject({ outcome: "success", actor: "admin" });
  });

  it("needs plugins:admin on every lifecycle route", async () => {
    const without = await mintToken(server, ["services:read", "config:admin", "artifacts:write"]);
    const calls: [string, string, RequestInit][] = [
      ["POST", "/api/plugins/install", { body: Buffer.from([0x1f, 0x8b]), headers: { "content-type": "application/gzip" } }],
      ["DELETE", "/api/plugins/echo", {}],
      ["GET", "/api/plugins/echo/history", {}],
      ["POST", "/api/plugins/echo/rollback", { body: "{}", headers: { "content-type": "application/json" } }],
      ["POST", "/api/plugins/echo/update", { body: "{}", headers: { "content-type": "application/json" } }],
    ];
    for (const [method, path, init] of calls) {
      await expectCode(await server.request(path, { method, ...init, token: without }), 403, "forbidden");
      await expectCode(await server.request(path, { method, ...init, token: null }), 401, "unauthorized");
    }
  });
});
