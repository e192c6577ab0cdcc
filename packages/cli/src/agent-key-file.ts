/**
 * @module agent-key-file
 * Reads an agent's Ed25519 key for `kai agent-login`: a PEM private key (PKCS #8, what `openssl genpkey
 * -algorithm ed25519` writes), an Ed25519 JWK (`{"kty":"OKP","crv":"Ed25519","d":…}`), a JSON object with a
 * `seed`, or the bare 32-byte seed as base64url or hex. PEM and JWK are decoded by node:crypto, not by hand.
 * A key file others can read is named in a warning, as ssh does.
 */
import { createPrivateKey } from "node:crypto";
import { statSync } from "node:fs";
import { klp, parseJson } from "@kai/protocol";
import { z } from "zod";
import { usageError } from "./cli-error.js";
import { readText } from "./input-file.js";

const KeyJsonSchema = z.union([z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), d: z.string() }), z.object({ seed: z.string() })]);

/** The 32-byte seed in `text`, or undefined when it is none of the known forms. */
export function seedFromText(text: string): Uint8Array | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN")) {
    try {
      const jwk = createPrivateKey(trimmed).export({ format: "jwk" });
      return jwk.crv === "Ed25519" && typeof jwk.d === "string" ? klp.fromBase64Url(jwk.d) : undefined;
    } catch {
      return undefined;
    }
  }
  const json = parseJson(trimmed);
  if (json.ok) {
    const parsed = KeyJsonSchema.safeParse(json.value);
    if (!parsed.success) return undefined;
    return seedFromText("d" in parsed.data ? parsed.data.d : parsed.data.seed);
  }
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return klp.fromHex(trimmed.toLowerCase());
  const bytes = klp.fromBase64Url(trimmed);
  return bytes?.length === 32 ? bytes : undefined;
}

export async function readAgentKey(path: string, warn: (text: string) => void): Promise<Uint8Array> {
  if (path !== "-") {
    try {
      if ((statSync(path).mode & 0o077) !== 0) warn(`${path} can be read by other users of this machine; chmod 600 it`);
    } catch {
      // readText below reports a missing file.
    }
  }
  const seed = seedFromText(await readText(path));
  if (seed?.length !== 32) {
    throw usageError(`${path === "-" ? "stdin" : path}: not an Ed25519 private key (PEM, JWK, or the 32-byte seed in base64url or hex)`);
  }
  return seed;
}
