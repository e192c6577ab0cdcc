/**
 * @module agent-runtime/agent-key
 * An agent's Ed25519 identity on disk: the file `kai agent keygen` writes (`{"did", "seed"}`, the seed in
 * base64url, mode 0600), created on first start when missing so an agent keeps its DID across restarts (the
 * node binds an agent id to the DID that first registered it). Node-only.
 */
import { readFile, writeFile } from "node:fs/promises";
import { klp, parseJson } from "@kai/protocol";

/** Loads the key in `file`, or creates one there (0600, never overwriting) when the file does not exist. */
export async function loadOrCreateAgentKey(file: string): Promise<klp.KlpKeyPair> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const key = klp.generateKeyPair();
    await writeFile(file, `${JSON.stringify({ did: key.did, seed: klp.toBase64Url(key.secretKey) }, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    return key;
  }
  const json = parseJson(text);
  if (!json.ok || typeof json.value !== "object" || json.value === null) throw new Error(`${file} is not an agent key file (JSON with did and seed)`);
  const parsed = json.value as { did?: unknown; seed?: unknown };
  const seed = typeof parsed.seed === "string" ? klp.fromBase64Url(parsed.seed) : undefined;
  if (!seed || seed.length !== 32) throw new Error(`${file} has no 32-byte seed`);
  const key = klp.keyPairFromSeed(seed);
  if (parsed.did !== undefined && parsed.did !== key.did) throw new Error(`${file} names ${String(parsed.did)}, but its seed is ${key.did}`);
  return key;
}
