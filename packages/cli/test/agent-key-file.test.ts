/**
 * `kai agent-login --key-file` reads the agent's Ed25519 seed from every form it documents (PEM from openssl or
 * node:crypto, JWK, JSON seed, hex, base64url) and refuses anything else.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { seedFromText } from "../src/agent-key-file.js";

describe("seedFromText", () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = klp.fromBase64Url(jwk.d!)!;

  it("reads PEM (PKCS #8), a JWK, a JSON seed, hex and base64url alike", () => {
    const forms = [
      privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
      JSON.stringify(jwk),
      JSON.stringify({ seed: klp.toBase64Url(seed) }),
      `${klp.toHex(seed)}\n`,
      klp.toBase64Url(seed),
    ];
    for (const form of forms) expect(seedFromText(form), form.slice(0, 30)).toEqual(seed);
  });

  it("refuses other keys and malformed text", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    for (const text of [rsa, "", "abc", klp.toHex(seed).slice(2), JSON.stringify({ kty: "OKP", crv: "X25519", d: jwk.d })]) {
      expect(seedFromText(text)).toBeUndefined();
    }
  });
});
