/**
 * @module plugins/plugin-signature
 * Signing a plugin folder and deciding its trust level (docs/plugins.md "Trust").
 *
 * `plugin.sig.json` lists the SHA-256 of every file in the folder (plugin-files.ts) and carries a detached Ed25519
 * signature by the key in its `did`, over the same JCS signing input as KLP's signed documents. A folder is
 * `trusted` only when the signature is valid, its signer is a key the operator trusts, it names the manifest's id
 * and version, and the folder holds exactly the signed files with exactly the signed bytes. Anything else is
 * `unverified`, with the reason and, when a file is at fault, that file: a changed file is a hard "no", never a
 * warning on a trusted plugin (Grafana's "modified" status, without PGP).
 */
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { klp, parseJson, PLUGIN_SIGNATURE_FILE, PluginSignatureSchema, type PluginManifest, type PluginSignature, type PluginTrust } from "@kai/protocol";
import { hashFile, listPluginFiles, PluginFilesError, type PluginFileLimits, PLUGIN_FILE_LIMITS } from "./plugin-files.js";

const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;

/** Signs the folder as it is now: hashes every file and writes `plugin.sig.json`. Returns the document written. */
export async function signPluginFolder(folder: string, manifest: Pick<PluginManifest, "id" | "version">, keyPair: klp.KlpKeyPair, now: Date = new Date()): Promise<PluginSignature> {
  const { files } = await listPluginFiles(folder);
  const hashes: Record<string, string> = {};
  for (const file of files) hashes[file] = await hashFile(join(folder, file));
  const unsigned = { format: "kai-plugin-signature/1" as const, plugin: manifest.id, version: manifest.version, files: hashes, did: keyPair.did, signedAt: now.toISOString() };
  const signed = klp.signDocument(unsigned, keyPair);
  await writeFile(join(folder, PLUGIN_SIGNATURE_FILE), `${JSON.stringify(signed, null, 2)}\n`);
  return signed;
}

export interface VerifyOptions {
  /** Whether a signer's DID is one the operator trusts (plugins.trustedKeys, and the federation peers when configured). */
  isTrustedKey: (did: string) => boolean;
  limits?: PluginFileLimits;
}

/**
 * The trust level of a plugin folder that is not shipped with the node. Never throws: an unreadable or malformed
 * signature file is a reason to be unverified, not an error of the node.
 */
export async function verifyPluginFolder(folder: string, manifest: Pick<PluginManifest, "id" | "version">, options: VerifyOptions): Promise<PluginTrust> {
  const unverified = (reason: string, extra: { signer?: string; file?: string } = {}): PluginTrust => ({ level: "unverified", reason, ...extra });
  const sigPath = join(folder, PLUGIN_SIGNATURE_FILE);
  let text: string;
  try {
    const info = await stat(sigPath);
    if (!info.isFile()) return unverified(`${PLUGIN_SIGNATURE_FILE} is not a regular file`, { file: PLUGIN_SIGNATURE_FILE });
    if (info.size > MAX_SIGNATURE_BYTES) return unverified(`${PLUGIN_SIGNATURE_FILE} is larger than ${MAX_SIGNATURE_BYTES} bytes`, { file: PLUGIN_SIGNATURE_FILE });
    text = await readFile(sigPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return unverified("not signed (no plugin.sig.json)");
    return unverified(`${PLUGIN_SIGNATURE_FILE} cannot be read`, { file: PLUGIN_SIGNATURE_FILE });
  }
  const json = parseJson(text);
  if (!json.ok) return unverified(`${PLUGIN_SIGNATURE_FILE} is not valid JSON`, { file: PLUGIN_SIGNATURE_FILE });
  const parsed = PluginSignatureSchema.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return unverified(`${PLUGIN_SIGNATURE_FILE} is malformed${issue ? ` at ${issue.path.map(String).join(".") || "(top)"}: ${issue.message}` : ""}`, { file: PLUGIN_SIGNATURE_FILE });
  }
  const signature = parsed.data;
  // The signature is checked over the document as read (minus `signature`), not over a re-serialised copy.
  if (!klp.verifyDocument(json.value as Record<string, unknown>, signature.did)) {
    return unverified("the signature does not verify (not made by the key it names, or the signature file was changed)", { file: PLUGIN_SIGNATURE_FILE });
  }
  const signer = signature.did;
  if (signature.plugin !== manifest.id || signature.version !== manifest.version) {
    return unverified(`signed for ${signature.plugin}@${signature.version}, but the manifest is ${manifest.id}@${manifest.version}`, { signer, file: "plugin.yaml" });
  }
  let files: string[];
  try {
    files = (await listPluginFiles(folder, options.limits ?? PLUGIN_FILE_LIMITS)).files;
  } catch (error) {
    if (error instanceof PluginFilesError) return unverified(error.message, { signer, ...(error.file === undefined ? {} : { file: error.file }) });
    return unverified("the plugin folder cannot be read", { signer });
  }
  const signed = new Set(Object.keys(signature.files));
  for (const file of files) {
    if (!signed.has(file)) return unverified(`file added after signing: ${file}`, { signer, file });
  }
  const present = new Set(files);
  for (const file of [...signed].sort()) {
    if (!present.has(file)) return unverified(`file removed after signing: ${file}`, { signer, file });
  }
  for (const file of files) {
    let digest: string;
    try {
      digest = await hashFile(join(folder, file));
    } catch {
      return unverified(`file cannot be read: ${file}`, { signer, file });
    }
    if (digest !== signature.files[file]) return unverified(`file changed after signing: ${file}`, { signer, file });
  }
  if (!options.isTrustedKey(signer)) return unverified(`signed by ${signer}, a key this node does not trust (plugins.trustedKeys)`, { signer });
  return { level: "trusted", reason: `signed by ${signer}, a trusted key; every file matches`, signer };
}
