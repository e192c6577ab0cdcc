// The file boundary around a plugin (issue 18, docs/security.md "Plugins"): a hostile plugin that has escaped Node's
// permission model (played by starting it without the model, a test-only option) still cannot read the node's files,
// because under bubblewrap they do not exist in its mount namespace: a secret in the data folder next to its own
// folder, the node's sources and /etc/passwd are ENOENT, its own folder reads and is read-only, and /proc shows only
// its own processes. The same plugin without the boundary reads the secret (so the test's plugin really bypasses the
// model). A machine without bwrap skips with how to get it, and fails under CI=true. Real plugin processes (the built
// host: `npx tsc -b packages/server` first).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { probeIsolation } from "../../src/plugins/runtime/isolation-probe.js";
import { PluginProcess } from "../../src/plugins/runtime/plugin-process.js";
import { missingPart } from "../helpers/real-parts.js";
import { makePlugin } from "./plugin-fixtures.js";

const tools = probeIsolation();
const HAS_BWRAP = tools.bwrap !== null || Boolean(missingPart("bubblewrap (bwrap) with unprivileged user namespaces", "apt-get install bubblewrap, and sysctl kernel.unprivileged_userns_clone=1"));

const dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-boundary-"));
const secret = join(dataDir, "vault.key");
writeFileSync(secret, "the node's secret");
const running: PluginProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((plugin) => plugin.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

// Plain fs calls: with the permission model off nothing in Node stands between them and the file system.
const HOSTILE = `
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
const attempt = (action) => { try { return { ok: action() }; } catch (error) { return { code: error.code ?? String(error) }; } };
export default { capabilities: {
  read: (path) => attempt(() => readFileSync(path, "utf8")),
  write: (path) => attempt(() => { writeFileSync(path, "x"); return "written"; }),
  pids: () => readdirSync("/proc").filter((name) => /^[0-9]+$/.test(name)).map(Number),
} };
`;

let count = 0;
async function startHostile(withBoundary: boolean): Promise<{ plugin: PluginProcess; folder: string }> {
  count += 1;
  const folder = makePlugin(join(dataDir, "plugins"), `hostile${count}`, `id: hostile${count}\nname: Hostile\nentrypoint: main.mjs\nversion: 1.0.0\n`, { "main.mjs": HOSTILE, "data.txt": "inside the folder" });
  const plugin = await PluginProcess.start({ folder, entrypoint: "main.mjs", permissionModel: false }, undefined, withBoundary ? tools : { ...tools, bwrap: null });
  running.push(plugin);
  return { plugin, folder };
}

describe.skipIf(!HAS_BWRAP)("a plugin that escaped Node's permission model, inside the file boundary", () => {
  it("cannot read the node's files (they do not exist there), reads its own folder and cannot change it", async () => {
    const { plugin, folder } = await startHostile(true);
    expect(plugin.isolation).toMatchObject({ fileBoundary: true, permissionModel: false, networkNamespace: true });
    expect(await plugin.invoke("read", join(folder, "data.txt"))).toEqual({ ok: "inside the folder" });
    expect(await plugin.invoke("read", secret)).toEqual({ code: "ENOENT" });
    expect(await plugin.invoke("read", new URL(import.meta.url).pathname)).toEqual({ code: "ENOENT" });
    expect(await plugin.invoke("read", "/etc/passwd")).toEqual({ code: "ENOENT" });
    expect(await plugin.invoke("write", join(folder, "main.mjs"))).toEqual({ code: "EROFS" });
  });

  it("sees only its own processes in /proc, and not another plugin's folder", async () => {
    const { plugin } = await startHostile(true);
    expect(await plugin.invoke("read", join(dataDir, "plugins", "hostile1", "data.txt"))).toEqual({ code: "ENOENT" });
    const pids = (await plugin.invoke("pids", null)) as number[];
    expect(pids).not.toContain(process.pid);
    // bwrap's init (1) and the plugin's Node (2).
    expect(pids.length).toBeLessThanOrEqual(2);
  });

  it("reads the secret without the boundary (the test's plugin really bypasses the model)", async () => {
    const { plugin } = await startHostile(false);
    expect(plugin.isolation.fileBoundary).toBe(false);
    expect(await plugin.invoke("read", secret)).toEqual({ ok: "the node's secret" });
  });
});
