// The plugin installer on a real disk (issue 18): hostile packages are refused and leave nothing behind; an invalid
// or incompatible plugin is refused naming the file and field; replace keeps the old version in the history, rollback
// swaps it back, remove can be rolled back; a signed update is installed only with a valid signature by a trusted key
// and a matching checksum (served by a real HTTP server); a new version that fails verify is rolled back on its own.
// Instances of one node: every change that succeeded is handed to `share` with the folder packed before it went live
// (never a refused or undone one), and another installer follows it through the same checks, refusing bytes that do
// not match their hash and a package whose trust there is lower than recorded.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { ApiError } from "../../src/errors.js";
import { PluginInstaller, type FollowedChange, type PluginInstallerOptions, type SharedInstallChange } from "../../src/plugins/install/plugin-installer.js";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { makePlugin } from "./plugin-fixtures.js";
import { manifestText, packFolder, rawTar } from "./plugin-package-fixtures.js";

const publisher = klp.generateKeyPair();
const stranger = klp.generateKeyPair();
let work: string;
let served: Map<string, Buffer>;
let http: Server;
let base: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "kai-plugin-installer-"));
  served = new Map();
  http = createServer((request, response) => {
    const body = served.get(request.url ?? "");
    if (!body) return response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/gzip", "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

let count = 0;
function installer(options: Partial<PluginInstallerOptions> = {}): { installer: PluginInstaller; dataDir: string; changed: string[] } {
  const dataDir = join(work, `data-${++count}`);
  const changed: string[] = [];
  return { installer: new PluginInstaller({ dataDir, isTrustedKey: (did) => did === publisher.did, onChanged: (id) => void changed.push(id), ...options }), dataDir, changed };
}

async function pluginPackage(id: string, version: string, extra = "", files: Record<string, string> = {}): Promise<Buffer> {
  const folder = makePlugin(join(work, "src", `${id}-${version}-${++count}`), id, manifestText(id, version, extra), { "main.js": `export default { version: "${version}" };\n`, ...files });
  return packFolder(folder);
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

function leftovers(dataDir: string): string[] {
  const root = join(dataDir, "plugins");
  const staging = join(root, ".staging");
  return [...(existsSync(root) ? readdirSync(root).filter((name) => !name.startsWith(".")) : []), ...(existsSync(staging) ? readdirSync(staging) : [])];
}

describe("hostile packages", () => {
  const hostile: [string, Buffer, string, RegExp][] = [
    ["a symbolic link", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "main.js", type: "SymbolicLink", linkpath: "/etc/passwd", size: 0 }]), "validation_failed", /main\.js is a symbolic link/],
    ["a hard link", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "main.js", type: "Link", linkpath: "plugin.yaml", size: 0 }]), "validation_failed", /hard link/],
    ["a device", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "null", type: "CharacterDevice", size: 0 }]), "validation_failed", /a device/],
    ["a path with ..", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "lib/../../escape.js", body: "x" }]), "validation_failed", /leaves the package/],
    ["an absolute path", rawTar([{ path: "/tmp/kai-plugin-escape.js", body: "x" }]), "validation_failed", /absolute path/],
    ["too many files", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, ...Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.js`, body: "x" }))]), "payload_too_large", /more than 4 files/],
    ["a file over the per-file limit", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "big.bin", body: Buffer.alloc(5000) }]), "validation_failed", /big\.bin is larger than 4096 bytes/],
    ["a zip bomb", rawTar([{ path: "a.bin", body: Buffer.alloc(3000) }, { path: "b.bin", body: Buffer.alloc(3000) }, { path: "c.bin", body: Buffer.alloc(3000) }]), "payload_too_large", /unpacks to more than 8192 bytes/],
    ["a plain tar (not gzip)", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }], { gzip: false }), "validation_failed", /not gzip-compressed/],
    ["gzip of garbage", Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]), "validation_failed", /not a valid/],
    ["a truncated archive", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }]).subarray(0, 60), "validation_failed", /not a valid|unexpected end/],
    ["a path twice", rawTar([{ path: "plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "plugin.yaml", body: manifestText("evil", "2.0.0") }]), "validation_failed", /more than once/],
    ["two top-level folders", rawTar([{ path: "a/plugin.yaml", body: manifestText("evil", "1.0.0") }, { path: "b/main.js", body: "x" }]), "validation_failed", /plugin\.yaml is missing/],
    ["an empty body", Buffer.alloc(0), "validation_failed", /empty/],
  ];
  for (const [what, bytes, code, message] of hostile) {
    it(`refuses ${what}, and leaves nothing behind`, async () => {
      const { installer: target, dataDir } = installer({ limits: { maxFiles: 4, maxFileBytes: 4096, maxUnpackedBytes: 8192 } });
      const error = await refusal(target.install(Readable.from([bytes])));
      expect(error.code, error.message).toBe(code);
      expect(error.message).toMatch(message);
      expect(leftovers(dataDir)).toEqual([]);
      expect(existsSync("/tmp/kai-plugin-escape.js")).toBe(false);
    });
  }

  it("refuses a package over maxPackageBytes while it streams", async () => {
    const { installer: target, dataDir } = installer({ limits: { maxPackageBytes: 1024 } });
    const bytes = rawTar([{ path: "plugin.yaml", body: manifestText("big", "1.0.0") }, { path: "noise.bin", body: randomBytes(4000) }]);
    const error = await refusal(target.install(Readable.from([bytes.subarray(0, 600), bytes.subarray(600)])));
    expect(error.code).toBe("payload_too_large");
    expect(leftovers(dataDir)).toEqual([]);
  });
});

describe("validation", () => {
  it("refuses an invalid manifest naming the file and field", async () => {
    const { installer: target, dataDir } = installer();
    const error = await refusal(target.install(Readable.from([await pluginPackage("bad", "1.0.0", "permissions: [root_access]\n")])));
    expect(error.code).toBe("validation_failed");
    expect(error.details?.[0]).toMatchObject({ path: "plugin.yaml:permissions.0" });
    expect(leftovers(dataDir)).toEqual([]);
  });

  it("refuses a plugin that needs node API ^2 on this node (1.0.0), naming node_api", async () => {
    const { installer: target, dataDir } = installer();
    const folder = makePlugin(join(work, "src"), "needs-two", manifestText("needs-two", "1.0.0").replace("^1.0.0", "^2"));
    const error = await refusal(target.install(Readable.from([await packFolder(folder)])));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/not compatible.*plugin\.yaml:node_api: needs node plugin API \^2; this node offers 1\.0\.0/);
    expect(leftovers(dataDir)).toEqual([]);
  });

  it("takes a package with one top-level folder as well as one with the files at its root", async () => {
    const { installer: target, dataDir } = installer();
    const nested = rawTar([{ path: "wrapped/", type: "Directory", size: 0, mode: 0o755 }, { path: "wrapped/plugin.yaml", body: manifestText("wrapped", "1.0.0") }, { path: "wrapped/main.js", body: "export default {};" }]);
    expect(await target.install(Readable.from([nested]))).toMatchObject({ id: "wrapped", version: "1.0.0", path: join(dataDir, "plugins", "wrapped") });
    expect(readFileSync(join(dataDir, "plugins", "wrapped", "main.js"), "utf8")).toBe("export default {};");
    expect(leftovers(dataDir)).toEqual(["wrapped"]);
  });
});

describe("replace, history, rollback, remove", () => {
  it("replaces into the history, rolls back and forth, and refuses an install over an installed plugin", async () => {
    const { installer: target, dataDir, changed } = installer({ historyLimit: 2 });
    await target.install(Readable.from([await pluginPackage("tune", "1.0.0")]));
    const conflict = await refusal(target.install(Readable.from([await pluginPackage("tune", "1.1.0")])));
    expect(conflict.code).toBe("conflict");
    const replaced = await target.install(Readable.from([await pluginPackage("tune", "1.1.0")]), { replace: true });
    expect(replaced.replaced).toMatchObject({ version: "1.0.0", reason: "replaced" });
    const main = () => readFileSync(join(dataDir, "plugins", "tune", "main.js"), "utf8");
    expect(main()).toContain("1.1.0");
    const versions = await target.versions("tune");
    expect(versions.current?.version).toBe("1.1.0");
    expect(versions.history.map((entry) => entry.version)).toEqual(["1.0.0"]);
    expect(versions.history[0]?.installedAt).toBeDefined();

    await target.rollback("tune");
    expect(main()).toContain("1.0.0");
    expect((await target.versions("tune")).history).toMatchObject([{ version: "1.1.0", reason: "rolled-back" }]);
    await target.rollback("tune", { version: "1.1.0" });
    expect(main()).toContain("1.1.0");
    expect((await refusal(target.rollback("tune", { version: "9.9.9" }))).code).toBe("not_found");

    // historyLimit 2: a third kept version pushes the oldest out.
    await target.install(Readable.from([await pluginPackage("tune", "1.2.0")]), { replace: true });
    await target.install(Readable.from([await pluginPackage("tune", "1.3.0")]), { replace: true });
    expect((await target.versions("tune")).history.map((entry) => entry.version)).toEqual(["1.2.0", "1.1.0"]);
    expect(changed.filter((id) => id === "tune").length).toBe(6);
    // Discovery never sees the history or staging folders (hidden).
    expect(leftovers(dataDir)).toEqual(["tune"]);
  });

  it("removes into the history, rolls a remove back, and purges", async () => {
    const { installer: target, dataDir } = installer();
    await target.install(Readable.from([await pluginPackage("gone", "2.0.0")]));
    expect(await target.remove("gone")).toEqual({ id: "gone", version: "2.0.0", purged: false });
    expect(existsSync(join(dataDir, "plugins", "gone"))).toBe(false);
    expect(await target.versions("gone")).toMatchObject({ history: [{ version: "2.0.0", reason: "removed" }] });
    expect((await target.versions("gone")).current).toBeUndefined();
    await target.rollback("gone");
    expect(readFileSync(join(dataDir, "plugins", "gone", "main.js"), "utf8")).toContain("2.0.0");
    expect(await target.remove("gone", { purge: true })).toMatchObject({ purged: true });
    expect(await target.versions("gone")).toEqual({ id: "gone", history: [] });
    expect((await refusal(target.remove("gone"))).code).toBe("not_found");
  });

  it("refuses to remove or install over a plugin another source provides", async () => {
    const { installer: target } = installer({ lookup: (id) => (id === "shipped" ? { source: "system", path: "/opt/kai/plugins/shipped" } : undefined) });
    expect((await refusal(target.remove("shipped"))).message).toMatch(/shipped with the node/);
    const error = await refusal(target.install(Readable.from([await pluginPackage("shipped", "1.0.0")])));
    expect(error.code).toBe("conflict");
  });

  it("takes one operation per id at a time: two installs of one id, one wins, the other is a conflict", async () => {
    const { installer: target } = installer();
    const [a, b] = await Promise.allSettled([
      target.install(Readable.from([await pluginPackage("race", "1.0.0")])),
      target.install(Readable.from([await pluginPackage("race", "1.0.1")])),
    ]);
    expect([a.status, b.status].sort()).toEqual(["fulfilled", "rejected"]);
    expect(((a.status === "rejected" ? a.reason : (b as PromiseRejectedResult).reason) as ApiError).code).toBe("conflict");
  });
});

describe("staging", () => {
  it("sweeps staging folders a crash left behind, and only old ones", async () => {
    const { installer: target, dataDir } = installer();
    const staging = join(dataDir, "plugins", ".staging");
    mkdirSync(join(staging, "old", "x"), { recursive: true });
    mkdirSync(join(staging, "fresh"), { recursive: true });
    const past = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(staging, "old"), past, past);
    await target.sweepStaging();
    expect(readdirSync(staging)).toEqual(["fresh"]);
  });
});

describe("automatic rollback", () => {
  it("puts the previous version back when the new one fails verify, and answers plugin_start_failed", async () => {
    const { installer: target, dataDir, changed } = installer({
      verify: async (id) => {
        if (readFileSync(join(dataDir, "plugins", id, "main.js"), "utf8").includes("6.6.6")) throw new Error("health check failed: boom");
      },
    });
    await target.install(Readable.from([await pluginPackage("fragile", "1.0.0")]));
    changed.length = 0;
    const error = await refusal(target.install(Readable.from([await pluginPackage("fragile", "6.6.6")]), { replace: true }));
    expect(error.code).toBe("plugin_start_failed");
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/fragile 6\.6\.6 failed its start or health check \(health check failed: boom\); 1\.0\.0 was put back/);
    expect(readFileSync(join(dataDir, "plugins", "fragile", "main.js"), "utf8")).toContain("1.0.0");
    expect(changed).toEqual(["fragile", "fragile"]);
    const versions = await target.versions("fragile");
    expect(versions.current?.version).toBe("1.0.0");
    expect(versions.history).toEqual([]);
    // A first install that fails verify leaves nothing.
    const first = await refusal(target.install(Readable.from([await pluginPackage("doomed", "6.6.6")])));
    expect(first.code).toBe("plugin_start_failed");
    expect(leftovers(dataDir)).toEqual(["fragile"]);
  });

  it("a rollback to a version that fails verify is undone, and the kept version stays kept", async () => {
    const { installer: target, dataDir } = installer({
      verify: async (id) => {
        if (readFileSync(join(dataDir, "plugins", id, "main.js"), "utf8").includes("6.6.6")) throw new Error("does not start");
      },
    });
    await target.install(Readable.from([await pluginPackage("swing", "6.6.6")]), {}).catch(() => undefined);
    await target.install(Readable.from([await pluginPackage("swing", "1.0.0")]));
    await target.install(Readable.from([await pluginPackage("swing", "1.0.1")]), { replace: true });
    expect((await target.versions("swing")).history.map((entry) => entry.version)).toEqual(["1.0.0"]);
    await target.rollback("swing");
    expect(readFileSync(join(dataDir, "plugins", "swing", "main.js"), "utf8")).toContain("1.0.0");
    expect((await target.versions("swing")).history.map((entry) => entry.version)).toEqual(["1.0.1"]);
  });
});

describe("signed updates", () => {
  async function publish(id: string, version: string, options: { sign?: klp.KlpKeyPair; checksum?: string } = {}): Promise<Record<string, unknown>> {
    const bytes = await pluginPackage(id, version);
    const path = `/${id}-${version}-${++count}.tar.gz`;
    served.set(path, bytes);
    const checksum = options.checksum ?? createHash("sha256").update(bytes).digest("hex");
    return klp.signDocument({ plugin: id, latest: version, url: `${base}${path}`, checksum, did: (options.sign ?? publisher).did }, options.sign ?? publisher);
  }

  it("installs a newer version from a manifest signed by a trusted key, and refuses the rest", async () => {
    const { installer: target, dataDir } = installer();
    await target.install(Readable.from([await pluginPackage("upd", "1.0.0")]));
    const main = () => readFileSync(join(dataDir, "plugins", "upd", "main.js"), "utf8");

    const tampered = { ...(await publish("upd", "1.1.0")), latest: "1.2.0" };
    const bad = await refusal(target.update(tampered));
    expect([bad.code, bad.details?.[0]?.path]).toEqual(["validation_failed", "manifest.signature"]);

    const untrusted = await refusal(target.update(await publish("upd", "1.1.0", { sign: stranger })));
    expect(untrusted.code).toBe("plugin_untrusted");
    expect(untrusted.message).toContain(stranger.did);

    const mismatch = await refusal(target.update(await publish("upd", "1.1.0", { checksum: "0".repeat(64) })));
    expect([mismatch.code, mismatch.details?.[0]?.path]).toEqual(["validation_failed", "manifest.checksum"]);

    const missing = await refusal(target.update(klp.signDocument({ plugin: "upd", latest: "1.1.0", url: `${base}/nothing-here.tar.gz`, checksum: "0".repeat(64), did: publisher.did }, publisher)));
    expect(missing.code).toBe("upstream_unreachable");
    expect(main()).toContain("1.0.0");

    const updated = await target.update(await publish("upd", "1.1.0"), { id: "upd" });
    expect(updated).toMatchObject({ id: "upd", version: "1.1.0", replaced: { version: "1.0.0" } });
    expect(main()).toContain("1.1.0");

    const older = await refusal(target.update(await publish("upd", "1.0.5")));
    expect(older.code).toBe("conflict");
    expect(older.message).toMatch(/not newer than the installed 1\.1\.0/);
    expect((await target.update(await publish("upd", "1.0.5"), { force: true })).version).toBe("1.0.5");
    expect((await refusal(target.update(await publish("upd", "2.0.0"), { id: "other" }))).code).toBe("validation_failed");
    expect(leftovers(dataDir)).toEqual(["upd"]);
  });

  it("keeps a signed plugin trusted through the install (the folder is moved, never rewritten)", async () => {
    const { installer: target, dataDir } = installer();
    const folder = makePlugin(join(work, "src"), "signed-one", manifestText("signed-one", "1.0.0"));
    await signPluginFolder(folder, { id: "signed-one", version: "1.0.0" }, publisher);
    await target.install(Readable.from([await packFolder(folder)]));
    await target.install(Readable.from([await pluginPackage("signed-one", "1.0.1")]), { replace: true });
    await target.rollback("signed-one");
    const { verifyPluginFolder } = await import("../../src/plugins/plugin-signature.js");
    expect(await verifyPluginFolder(join(dataDir, "plugins", "signed-one"), { id: "signed-one", version: "1.0.0" }, { isTrustedKey: (did) => did === publisher.did })).toMatchObject({ level: "trusted" });
  });
});

describe("instances of one node: share and follow", () => {
  const followed = (change: SharedInstallChange, revision: number): FollowedChange => ({
    id: change.id,
    action: change.action,
    version: change.version,
    package: change.package?.bytes ?? null,
    sha256: change.package?.sha256 ?? null,
    trust: change.trust === null ? null : change.trust.level === "trusted" ? "trusted" : "unverified",
    purge: change.purge,
    by: change.by ?? "node",
    origin: "a",
    revision,
  });

  it("shares every change that succeeded, packed before it went live, and another installer follows each one", async () => {
    const shared: SharedInstallChange[] = [];
    const { installer: a } = installer({ share: { recorded: async (change) => void shared.push(change) } });
    const { installer: b, dataDir: dataB } = installer();
    const folder = makePlugin(join(work, "src", `shared-${++count}`), "shared", manifestText("shared", "1.0.0"));
    await signPluginFolder(folder, { id: "shared", version: "1.0.0" }, publisher);
    await a.install(Readable.from([await packFolder(folder)]), { by: "alice" });
    await a.install(Readable.from([await pluginPackage("shared", "1.1.0")]), { replace: true, by: "bob" });
    await a.rollback("shared", { by: "carol" });
    await a.remove("shared", { by: "dave" });
    expect(shared.map((change) => [change.action, change.version, change.trust?.level ?? null, change.by])).toEqual([
      ["install", "1.0.0", "trusted", "alice"],
      ["install", "1.1.0", "unverified", "bob"],
      ["rollback", "1.0.0", "trusted", "carol"],
      ["remove", "1.0.0", null, "dave"],
    ]);
    expect(shared[0]!.package!.sha256).toBe(createHash("sha256").update(shared[0]!.package!.bytes).digest("hex"));

    const afters: number[] = [];
    for (const [index, change] of shared.slice(0, 3).entries()) {
      expect(await b.follow("shared", async () => followed(change, index + 1), async (applied) => void afters.push(applied.revision))).toMatchObject({ revision: index + 1 });
      expect(readFileSync(join(dataB, "plugins", "shared", "main.js"), "utf8")).toContain(change.version === "1.1.0" ? "1.1.0" : "export default {}");
    }
    const { verifyPluginFolder } = await import("../../src/plugins/plugin-signature.js");
    expect(await verifyPluginFolder(join(dataB, "plugins", "shared"), { id: "shared", version: "1.0.0" }, { isTrustedKey: (did) => did === publisher.did })).toMatchObject({ level: "trusted" });
    expect((await b.versions("shared")).history.map((entry) => [entry.version, entry.reason])).toEqual([["1.1.0", "rolled-back"], ["1.0.0", "replaced"]]);
    await b.follow("shared", async () => followed(shared[3]!, 4), async (applied) => void afters.push(applied.revision));
    // Nothing to follow: `load` answers undefined (this folder holds the change already).
    expect(await b.follow("shared", async () => undefined, async () => void afters.push(0))).toBeUndefined();
    expect(afters).toEqual([1, 2, 3, 4]);
    expect(leftovers(dataB)).toEqual([]);
  });

  it("shares nothing for a refused change or one undone by its failed verify", async () => {
    const shared: SharedInstallChange[] = [];
    const { installer: a } = installer({ share: { recorded: async (change) => void shared.push(change) }, verify: async () => { throw new Error("health check failed"); } });
    await refusal(a.install(Readable.from([await pluginPackage("flaky", "1.0.0")])));
    await refusal(a.install(Readable.from([Buffer.from("not a package")])));
    expect(shared).toEqual([]);
  });

  it("refuses to follow bytes that do not match their hash, a package whose trust here is lower, or one that is not the recorded version", async () => {
    const shared: SharedInstallChange[] = [];
    const { installer: a } = installer({ share: { recorded: async (change) => void shared.push(change) } });
    const folder = makePlugin(join(work, "src", `strict-${++count}`), "strict", manifestText("strict", "1.0.0"));
    await signPluginFolder(folder, { id: "strict", version: "1.0.0" }, publisher);
    await a.install(Readable.from([await packFolder(folder)]));
    const change = followed(shared[0]!, 1);
    const { installer: target, dataDir: dataB } = installer();
    const b = { follow: (given: FollowedChange, after: () => Promise<void>) => target.follow("strict", async () => given, after) };
    const never = async () => {
      throw new Error("after must not run for a refused change");
    };
    expect((await refusal(b.follow({ ...change, sha256: "0".repeat(64) }, never))).message).toMatch(/does not match its recorded SHA-256/);
    writeFileSync(join(folder, "main.js"), "export default { changed: true };\n");
    const changed = await packFolder(folder);
    const lower = await refusal(b.follow({ ...change, package: changed, sha256: createHash("sha256").update(changed).digest("hex") }, never));
    expect([lower.code, lower.message]).toEqual(["plugin_untrusted", expect.stringMatching(/trusted on instance a, but is unverified here \(file changed after signing: main\.js\)/)]);
    // The same package where the signer is not trusted: lower too.
    const { installer: stranger } = installer({ isTrustedKey: () => false });
    expect((await refusal(stranger.follow("strict", async () => change, never))).code).toBe("plugin_untrusted");
    expect((await refusal(b.follow({ ...change, version: "9.9.9" }, never))).message).toMatch(/holds strict 1\.0\.0, but the record names strict 9\.9\.9/);
    expect(leftovers(dataB)).toEqual([]);
  });
});
