// Plugin lifecycle changes reach every instance of a node (issue 18 with issue 13; docs/plugins.md "Cluster"): two
// whole servers on one real PostgreSQL, each with its own data folder. A signed plugin installed on A is installed,
// trusted, run and routable on B; an update from a signed update manifest on A reaches B; a rollback on A reaches B;
// an instance started afterwards gets the plugin at its start; a package changed in the shared store (a file changed
// after signing, or bytes that no longer match their recorded hash) is refused by that instance, which reports it in
// its plugin listing and installs nothing; a remove on A removes it on every instance; an instance that cannot take a
// change (its plugins.paths provides the id) reports it while the others keep the change.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { klp, PluginDetailSchema, PluginListResponseSchema } from "@kai/protocol";
import { openStore } from "../../../src/storage/index.js";
import { signPluginFolder } from "../../../src/plugins/plugin-signature.js";
import { startPostgres, type PostgresServer } from "../../helpers/postgres-server.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { waitFor } from "../../cluster/support.js";
import { makePlugin } from "../plugin-fixtures.js";
import { packFolder } from "../plugin-package-fixtures.js";

const pg: PostgresServer | null = await startPostgres();
const publisher = klp.generateKeyPair();

describe.skipIf(!pg)("plugin installs across the instances of one node", () => {
  let url: string;
  let keyDir: string;
  let sources: string;
  let http: Server;
  const served = new Map<string, Buffer>();
  const servers: TestServer[] = [];
  let a: TestServer;
  let b: TestServer;

  /** One more instance of the node: the same database, vault key folder and passphrase, its own data folder. */
  const startInstance = async (name: string, paths: string[] = []): Promise<TestServer> => {
    const server = await startTestServer({
      config: {
        storage: { kind: "postgres", postgres: { url, poolSize: 4 } },
        vault: { keyDir, pbkdf2Iterations: 10_000 },
        cluster: { instanceName: name, heartbeatMs: 200, memberTimeoutMs: 1500, pollIntervalMs: 300 },
        plugins: { trustedKeys: [publisher.did], paths },
      },
      env: { KAI_VAULT_PASSPHRASE: "plugin installs test passphrase" },
    });
    servers.push(server);
    return server;
  };

  /** A signed `echo` folder whose capability answers `<version>:<text>`, packed. */
  const signedPackage = async (id: string, version: string): Promise<{ folder: string; bytes: Buffer }> => {
    const folder = makePlugin(join(sources, `${id}-${version}`), id, { id, name: id, entrypoint: "main.mjs", version, capabilities: [{ name: `${id}_text` }] }, {
      "main.mjs": `export default { capabilities: { ${id}_text: (text) => "${version}:" + String(text) } };\n`,
    });
    await signPluginFolder(folder, { id, version }, publisher);
    return { folder, bytes: await packFolder(folder) };
  };

  const detailOn = async (server: TestServer, id: string) => {
    const response = await server.request(`/api/plugins/${id}`);
    return response.status === 200 ? PluginDetailSchema.parse(await response.json()) : undefined;
  };

  const syncEvents = async (server: TestServer) => {
    const response = await server.request("/api/security/events?type=plugin.sync&limit=50");
    expect(response.status).toBe(200);
    return ((await response.json()) as { events: Array<{ outcome: string; actor: string | null; details: Record<string, unknown> }> }).events;
  };

  const routed = async (server: TestServer, capability: string) => {
    const response = await server.request(`/api/route/${capability}`, { method: "POST", json: { request: "hi" } });
    return response.status === 200 ? ((await response.json()) as { response: unknown }).response : undefined;
  };

  beforeAll(async () => {
    url = await pg!.createDatabase("plugin-installs");
    keyDir = mkdtempSync(join(tmpdir(), "kai-plugin-installs-keys-"));
    sources = mkdtempSync(join(tmpdir(), "kai-plugin-installs-src-"));
    http = createServer((request, response) => {
      const body = served.get(request.url ?? "");
      if (!body) return response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/gzip" }).end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    a = await startInstance("a");
    b = await startInstance("b");
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(servers.map((server) => server.dispose()));
    await new Promise((resolve) => http?.close(resolve));
    await pg?.stop();
    for (const dir of [keyDir, sources]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("an install on A is installed, trusted, run and routable on B", async () => {
    const { bytes } = await signedPackage("echo", "1.0.0");
    const installed = await a.request("/api/plugins/install", { method: "POST", body: bytes, headers: { "content-type": "application/gzip" } });
    expect(installed.status, await installed.clone().text()).toBe(201);
    const onB = await waitFor("the plugin in B's folder", () => detailOn(b, "echo"), 30_000);
    expect(onB).toMatchObject({ version: "1.0.0", source: "data", state: "discovered", trust: { level: "trusted", signer: publisher.did }, path: join(b.dataDir, "plugins", "echo") });

    const enabled = await a.request("/api/plugins/echo/enable", { method: "POST" });
    expect(enabled.status, await enabled.clone().text()).toBe(200);
    await waitFor("the plugin running on B", async () => (await detailOn(b, "echo"))?.runtime?.state === "running", 30_000);
    expect(await waitFor("a call routed on B", () => routed(b, "echo_text"), 30_000)).toBe("1.0.0:hi");
    // B's security log says it followed A's install, for whom.
    expect(await syncEvents(b)).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: "success", actor: "admin", details: expect.objectContaining({ plugin: "echo", action: "install", origin: "a", version: "1.0.0" }) })]));
  });

  test("an update from a signed update manifest on A reaches B, and so does a rollback", async () => {
    const { bytes } = await signedPackage("echo", "2.0.0");
    served.set("/echo-2.0.0.tar.gz", bytes);
    const manifest = klp.signDocument({ plugin: "echo", latest: "2.0.0", url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/echo-2.0.0.tar.gz`, checksum: createHash("sha256").update(bytes).digest("hex"), did: publisher.did }, publisher);
    const updated = await a.request("/api/plugins/echo/update", { method: "POST", json: { manifest } });
    expect(updated.status, await updated.clone().text()).toBe(200);
    await waitFor("2.0.0 running on B", async () => {
      const detail = await detailOn(b, "echo");
      return detail?.version === "2.0.0" && detail.runtime?.state === "running";
    }, 30_000);
    expect(await waitFor("a call routed to 2.0.0 on B", async () => ((await routed(b, "echo_text")) === "2.0.0:hi" ? true : undefined), 30_000)).toBe(true);
    // B keeps the version it replaced, as A does.
    const history = (await (await b.request("/api/plugins/echo/history")).json()) as { history: Array<{ version: string }> };
    expect(history.history.map((entry) => entry.version)).toEqual(["1.0.0"]);

    const rolled = await a.request("/api/plugins/echo/rollback", { method: "POST", json: {} });
    expect(rolled.status, await rolled.clone().text()).toBe(200);
    await waitFor("1.0.0 back on B", async () => {
      const detail = await detailOn(b, "echo");
      return detail?.version === "1.0.0" && detail.trust.level === "trusted" && detail.runtime?.state === "running";
    }, 30_000);
  });

  test("an instance started later gets the plugin at its start, and refuses packages changed in the shared store", async () => {
    // Two rows written straight into the shared store, as a hostile or broken database would hold them.
    const store = await openStore({ kind: "postgres", url, poolSize: 1 });
    try {
      const { folder } = await signedPackage("tampered", "1.0.0");
      writeFileSync(join(folder, "main.mjs"), "export default { capabilities: { tampered_text: () => 'not what was signed' } };\n");
      const changed = await packFolder(folder);
      const row = { action: "install" as const, version: "1.0.0", trust: "trusted" as const, signer: publisher.did, purge: false, by: "mallory", origin: "a", at: new Date().toISOString() };
      await store.pluginInstallStore().putInstall({ ...row, id: "tampered", package: changed, sha256: createHash("sha256").update(changed).digest("hex") });
      const { bytes } = await signedPackage("rotten", "1.0.0");
      await store.pluginInstallStore().putInstall({ ...row, id: "rotten", package: bytes, sha256: "0".repeat(64) });
    } finally {
      await store.close();
    }

    const c = await startInstance("c");
    // Followed before the start finished: the plugin is there and enabled plugins started from it.
    expect(await detailOn(c, "echo")).toMatchObject({ version: "1.0.0", trust: { level: "trusted" } });
    await waitFor("the plugin running on C", async () => (await detailOn(c, "echo"))?.runtime?.state === "running", 30_000);

    // Trust is decided by C itself: a signed plugin with a changed file is not installed as the trusted one A recorded.
    expect(await detailOn(c, "tampered")).toBeUndefined();
    expect(await detailOn(c, "rotten")).toBeUndefined();
    const listing = PluginListResponseSchema.parse(await (await c.request("/api/plugins")).json());
    const problems = listing.errors.filter((problem) => problem.field === "cluster");
    expect(problems.find((problem) => problem.file.endsWith("/tampered"))?.message).toMatch(/was trusted on instance a, but is unverified here \(file changed after signing: main\.mjs\)/);
    expect(problems.find((problem) => problem.file.endsWith("/rotten"))?.message).toMatch(/does not match its recorded SHA-256/);
    expect(existsSync(join(c.dataDir, "plugins", "tampered"))).toBe(false);
    expect(await syncEvents(c)).toEqual(expect.arrayContaining([
      expect.objectContaining({ outcome: "failure", actor: "mallory", details: expect.objectContaining({ plugin: "tampered", error: "plugin_untrusted" }) }),
      expect.objectContaining({ outcome: "failure", details: expect.objectContaining({ plugin: "rotten", error: "validation_failed" }) }),
    ]));
    expect(readdirSync(join(c.dataDir, "plugins", ".staging"))).toEqual([]);
    // Refused rows stay refused on C only: A and B never installed them either (no signal told them), and they serve on.
    expect((await c.request("/healthz", { token: null })).status).toBe(200);
  });

  test("a remove on A removes the plugin on every instance", async () => {
    const removed = await a.request("/api/plugins/echo", { method: "DELETE" });
    expect(removed.status, await removed.clone().text()).toBe(200);
    for (const server of servers.slice(1)) {
      await waitFor(`the plugin gone on ${server.url}`, async () => (await detailOn(server, "echo")) === undefined, 30_000);
      expect(existsSync(join(server.dataDir, "plugins", "echo"))).toBe(false);
    }
    expect(await routed(b, "echo_text")).toBeUndefined();
  });

  test("an instance that cannot take a change reports it, and the others keep it", async () => {
    // D's own plugins.paths folder provides `solo`: an install through the API never replaces it there.
    const own = mkdtempSync(join(tmpdir(), "kai-plugin-installs-own-"));
    try {
      makePlugin(own, "solo", { id: "solo", name: "solo", entrypoint: "main.mjs", version: "0.1.0" }, { "main.mjs": "export default {};\n" });
      const d = await startInstance("d", [own]);
      const { bytes } = await signedPackage("solo", "1.0.0");
      const installed = await a.request("/api/plugins/install", { method: "POST", body: bytes, headers: { "content-type": "application/gzip" } });
      expect(installed.status, await installed.clone().text()).toBe(201);
      const problem = await waitFor("D's report", async () => PluginListResponseSchema.parse(await (await d.request("/api/plugins")).json()).errors.find((entry) => entry.field === "cluster" && entry.file.endsWith("/solo")), 30_000);
      expect(problem.message).toMatch(/install of solo 1\.0\.0 \(revision 1, made on instance a\) is not applied on this instance: plugin solo comes from a plugins\.paths folder/);
      expect(await detailOn(d, "solo")).toMatchObject({ version: "0.1.0", source: "config" });
      await waitFor("solo on B", async () => (await detailOn(b, "solo"))?.version === "1.0.0", 30_000);
      expect(await detailOn(a, "solo")).toMatchObject({ version: "1.0.0", source: "data" });
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
