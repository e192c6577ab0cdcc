// Plugin trust (issue 18): a folder signed with a real Ed25519 key is `trusted` only when the key is trusted and every
// file is exactly what was signed; a changed, added or removed file, a symbolic link, a forged or malformed signature
// file, or a signature for another version makes it `unverified`, naming the file.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { klp, PluginSignatureSchema } from "@kai/protocol";
import { signPluginFolder, verifyPluginFolder } from "../../src/plugins/plugin-signature.js";
import { hashPluginFiles, listPluginFiles, PluginFilesError } from "../../src/plugins/plugin-files.js";
import { makePlugin, seedManifest } from "./plugin-fixtures.js";

const root = mkdtempSync(join(tmpdir(), "kai-plugin-trust-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const publisher = klp.generateKeyPair();
const stranger = klp.generateKeyPair();
const manifest = { id: "plugin-musicgen", version: "0.2.1" };
const trustPublisher = { isTrustedKey: (did: string) => did === publisher.did };

let folders = 0;
/** A fresh signed plugin folder (each test tampers with its own). */
async function signedPlugin(key = publisher): Promise<string> {
  folders += 1;
  const dir = makePlugin(root, `p${folders}`, seedManifest(), { "main.js": "export default {};\n", "music.svg": "<svg/>", "lib/util.js": "export const x = 1;\n" });
  await signPluginFolder(dir, manifest, key, new Date("2026-12-01T00:00:00Z"));
  return dir;
}

describe("signing a plugin folder", () => {
  it("lists every file's SHA-256 and signs the document with the key's DID", async () => {
    const dir = await signedPlugin();
    const document = PluginSignatureSchema.parse(JSON.parse(readFileSync(join(dir, "plugin.sig.json"), "utf8")));
    expect(Object.keys(document.files)).toEqual(["lib/util.js", "main.js", "music.svg", "plugin.yaml"]);
    expect(document.files).toEqual(await hashPluginFiles(dir));
    expect(document.did).toBe(publisher.did);
    expect(klp.verifyDocument(document as unknown as Record<string, unknown>, publisher.did)).toBe(true);
  });
});

describe("verifying a plugin folder", () => {
  it("is trusted when signed by a trusted key and untouched", async () => {
    const trust = await verifyPluginFolder(await signedPlugin(), manifest, trustPublisher);
    expect(trust).toMatchObject({ level: "trusted", signer: publisher.did });
    expect(trust.reason).toMatch(/trusted key/);
  });

  it("is unverified when the signer is not a trusted key, and says who signed", async () => {
    const trust = await verifyPluginFolder(await signedPlugin(stranger), manifest, trustPublisher);
    expect(trust).toMatchObject({ level: "unverified", signer: stranger.did });
    expect(trust.reason).toMatch(/does not trust/);
  });

  it("is unverified without a signature", async () => {
    const dir = makePlugin(root, "unsigned", seedManifest());
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", reason: expect.stringMatching(/not signed/) });
  });

  it("names a file changed after signing", async () => {
    const dir = await signedPlugin();
    writeFileSync(join(dir, "lib/util.js"), "export const x = 2;\n");
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", file: "lib/util.js", reason: "file changed after signing: lib/util.js" });
  });

  it("names a manifest changed after signing (plugin.yaml is one of the signed files)", async () => {
    const dir = await signedPlugin();
    writeFileSync(join(dir, "plugin.yaml"), `${readFileSync(join(dir, "plugin.yaml"), "utf8")}\n# widened later\n`);
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", file: "plugin.yaml" });
  });

  it("names a file added or removed after signing", async () => {
    const added = await signedPlugin();
    writeFileSync(join(added, "extra.js"), "process.exit(1)\n");
    expect(await verifyPluginFolder(added, manifest, trustPublisher)).toMatchObject({ level: "unverified", file: "extra.js", reason: "file added after signing: extra.js" });
    const removed = await signedPlugin();
    unlinkSync(join(removed, "music.svg"));
    expect(await verifyPluginFolder(removed, manifest, trustPublisher)).toMatchObject({ level: "unverified", file: "music.svg", reason: "file removed after signing: music.svg" });
  });

  it("refuses a symbolic link rather than following it", async () => {
    const dir = await signedPlugin();
    symlinkSync("/etc/hostname", join(dir, "link.txt"));
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", file: "link.txt", reason: expect.stringMatching(/symbolic links/) });
    await expect(listPluginFiles(dir)).rejects.toBeInstanceOf(PluginFilesError);
  });

  it("is unverified when the hash list was edited to match a changed file (the signature no longer verifies)", async () => {
    const dir = await signedPlugin();
    writeFileSync(join(dir, "main.js"), "evil();\n");
    const document = JSON.parse(readFileSync(join(dir, "plugin.sig.json"), "utf8")) as { files: Record<string, string> };
    document.files["main.js"] = (await hashPluginFiles(dir))["main.js"] as string;
    writeFileSync(join(dir, "plugin.sig.json"), JSON.stringify(document));
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", file: "plugin.sig.json", reason: expect.stringMatching(/does not verify/) });
  });

  it("is unverified when a trusted key's DID is put on a stranger's signature", async () => {
    const dir = await signedPlugin(stranger);
    const document = JSON.parse(readFileSync(join(dir, "plugin.sig.json"), "utf8")) as { did: string };
    document.did = publisher.did;
    writeFileSync(join(dir, "plugin.sig.json"), JSON.stringify(document));
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", reason: expect.stringMatching(/does not verify/) });
  });

  it("is unverified when the signature is for another id or version (an old signed release copied next to a new one)", async () => {
    const dir = await signedPlugin();
    expect(await verifyPluginFolder(dir, { id: "plugin-musicgen", version: "0.3.0" }, trustPublisher)).toMatchObject({ level: "unverified", file: "plugin.yaml", reason: expect.stringMatching(/signed for plugin-musicgen@0.2.1/) });
  });

  it("is unverified, not an error, for a malformed or oversized signature file", async () => {
    for (const text of ["not json", "[]", JSON.stringify({ format: "kai-plugin-signature/1" }), JSON.stringify({ format: "kai-plugin-signature/1", plugin: "p", version: "1.0.0", files: { "../x": "0".repeat(64) }, did: publisher.did, signedAt: "2026-12-01T00:00:00Z", signature: "x" })]) {
      const dir = await signedPlugin();
      writeFileSync(join(dir, "plugin.sig.json"), text);
      const trust = await verifyPluginFolder(dir, manifest, trustPublisher);
      expect(trust, text).toMatchObject({ level: "unverified", file: "plugin.sig.json" });
    }
    const dir = await signedPlugin();
    writeFileSync(join(dir, "plugin.sig.json"), "x".repeat(5 * 1024 * 1024));
    expect(await verifyPluginFolder(dir, manifest, trustPublisher)).toMatchObject({ level: "unverified", reason: expect.stringMatching(/larger than/) });
  });

  it("stops at its limits instead of hashing a huge folder", async () => {
    const dir = await signedPlugin();
    const trust = await verifyPluginFolder(dir, manifest, { ...trustPublisher, limits: { maxFiles: 2, maxDepth: 32, maxBytes: 1 << 20 } });
    expect(trust).toMatchObject({ level: "unverified", reason: expect.stringMatching(/more than 2 files/) });
  });
});
