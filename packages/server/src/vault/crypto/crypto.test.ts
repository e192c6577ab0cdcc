/**
 * Known-answer tests for the primitives the vault is built on, and the failure behaviour of its formats:
 * every flipped bit, every truncation, a short tag, wrong AAD (name, version, key version), unknown keys.
 */
import { createHmac, hkdfSync, pbkdf2Sync, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { DecryptionError, lengthPrefixed, open, seal } from "./aead.js";
import { derivePassphraseKek, newPbkdf2Params, parseStoredKdf } from "./kdf.js";
import { decryptSecret, encryptSecret, secretKeyVersion } from "./secret-format.js";
import { decryptTransit, encryptTransit } from "./transit-format.js";
import { KeyMaterial } from "../redacted.js";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

describe("AES-256-GCM known answers", () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", Test Case 16 (AES-256, 96-bit IV, with AAD).
  const key = hex("feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308");
  const iv = hex("cafebabefacedbaddecaf888");
  const aad = hex("feedfacedeadbeeffeedfacedeadbeef abaddad2");
  const plaintext = hex(
    "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72 1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b39",
  );
  const ciphertext = hex(
    "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa 8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662",
  );
  const tag = hex("76fc6ece0f4e1768cddf8853bb2d551b");

  it("encrypts to the published ciphertext and tag", () => {
    const sealed = seal(key, plaintext, aad, iv);
    expect(sealed.ciphertext.toString("hex")).toBe(ciphertext.toString("hex"));
    expect(sealed.tag.toString("hex")).toBe(tag.toString("hex"));
  });

  it("decrypts the published ciphertext, and refuses it with other AAD or a 4-byte tag", () => {
    expect(open(key, { nonce: iv, ciphertext, tag }, aad).toString("hex")).toBe(plaintext.toString("hex"));
    expect(() => open(key, { nonce: iv, ciphertext, tag }, Buffer.from("other"))).toThrow(DecryptionError);
    // Node accepts a truncated tag unless authTagLength is enforced; ours must not.
    expect(() => open(key, { nonce: iv, ciphertext, tag: tag.subarray(0, 4) }, aad)).toThrow(DecryptionError);
  });

  it("uses a fresh nonce per encryption: the same plaintext never encrypts the same twice", () => {
    const k = randomBytes(32);
    const a = seal(k, Buffer.from("same"), Buffer.alloc(0));
    const b = seal(k, Buffer.from("same"), Buffer.alloc(0));
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it("refuses keys of the wrong length", () => {
    for (const length of [0, 16, 31, 33]) expect(() => seal(Buffer.alloc(length), Buffer.from("x"), Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe("PBKDF2-HMAC-SHA256 known answers (RFC 7914 §11)", () => {
  it("matches the c=1 vector", () => {
    expect(pbkdf2Sync("passwd", "salt", 1, 64, "sha256").toString("hex")).toBe(
      "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
    );
  });

  it("derivePassphraseKek gives the first 32 bytes of the c=80000 vector", async () => {
    const kek = await derivePassphraseKek("Password", {
      name: "pbkdf2-sha256",
      iterations: 80_000,
      hash: "sha256",
      salt: Buffer.from("NaCl").toString("base64url"),
    });
    expect(kek.toString("hex")).toBe("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
  });

  it("stores name, parameters and a 16-byte salt, and refuses parameters below the minimum", () => {
    const params = newPbkdf2Params(600_000);
    expect(Buffer.from(params.salt, "base64url")).toHaveLength(16);
    expect(parseStoredKdf(JSON.stringify(params))).toEqual(params);
    expect(parseStoredKdf(JSON.stringify({ ...params, iterations: 1000 }))).toBeNull();
    expect(parseStoredKdf(JSON.stringify({ name: "md5" }))).toBeNull();
    expect(parseStoredKdf("not json")).toBeNull();
    expect(() => newPbkdf2Params(5000)).toThrow(RangeError);
  });
});

describe("HMAC-SHA256 and HKDF known answers", () => {
  it("matches RFC 4231 test case 2", () => {
    expect(createHmac("sha256", "Jefe").update("what do ya want for nothing?").digest("hex")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("matches RFC 5869 test case 1", () => {
    const okm = hkdfSync("sha256", Buffer.alloc(22, 0x0b), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
    expect(Buffer.from(okm).toString("hex")).toBe("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });
});

describe("stored secret format", () => {
  const key = randomBytes(32);
  const keys = (version: number) => (version === 3 ? key : null);

  it("round-trips and lays out fmt | keyVersion | nonce | ct | tag", () => {
    const stored = encryptSecret(key, 3, "openai/prod", 7, Buffer.from("sk-canary"));
    expect(stored[0]).toBe(1);
    expect(secretKeyVersion(stored)).toBe(3);
    expect(stored).toHaveLength(1 + 4 + 12 + "sk-canary".length + 16);
    expect(stored.includes(Buffer.from("sk-canary"))).toBe(false);
    expect(decryptSecret(stored, "openai/prod", 7, keys).toString()).toBe("sk-canary");
  });

  it("decrypts a frozen ciphertext (the format cannot drift unnoticed)", () => {
    const frozenKey = Buffer.alloc(32, 7);
    const nonce = Buffer.alloc(12, 9);
    // Built by hand from the AEAD primitive and the documented AAD, independent of encryptSecret.
    const aad = lengthPrefixed("kai-vault/1", "secret:a/b", "v:1", "kv:2");
    const sealed = seal(frozenKey, Buffer.from("frozen"), aad, nonce);
    const stored = Buffer.concat([Buffer.from([1, 0, 0, 0, 2]), nonce, sealed.ciphertext, sealed.tag]);
    expect(decryptSecret(stored, "a/b", 1, (v) => (v === 2 ? frozenKey : null)).toString()).toBe("frozen");
  });

  it("fails on every flipped bit, in every byte", () => {
    const stored = encryptSecret(key, 3, "n", 1, Buffer.from("tiny"));
    for (let byte = 0; byte < stored.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(stored);
        copy[byte]! ^= 1 << bit;
        expect(() => decryptSecret(copy, "n", 1, keys), `byte ${byte} bit ${bit}`).toThrow(DecryptionError);
      }
    }
  });

  it("fails on every truncation and on empty input", () => {
    const stored = encryptSecret(key, 3, "n", 1, Buffer.from("tiny"));
    for (let length = 0; length < stored.length; length++) {
      expect(() => decryptSecret(stored.subarray(0, length), "n", 1, keys), `length ${length}`).toThrow(DecryptionError);
    }
  });

  it("is bound to the name, the version and the key version", () => {
    const stored = encryptSecret(key, 3, "a", 1, Buffer.from("value"));
    expect(() => decryptSecret(stored, "b", 1, keys)).toThrow(DecryptionError);
    expect(() => decryptSecret(stored, "a", 2, keys)).toThrow(DecryptionError);
    const relabelled = Buffer.from(stored);
    relabelled.writeUInt32BE(4, 1);
    expect(() => decryptSecret(relabelled, "a", 1, (v) => (v === 4 ? key : null))).toThrow(DecryptionError);
    expect(() => decryptSecret(stored, "a", 1, () => null)).toThrow(DecryptionError);
    expect(() => decryptSecret(stored, "a", 1, () => randomBytes(32))).toThrow(DecryptionError);
  });
});

describe("transit format", () => {
  const key = randomBytes(32);
  const keys = (version: number) => (version === 2 ? key : null);

  it("round-trips with and without associated data, and binds it", () => {
    const plain = encryptTransit(key, 2, Buffer.from("hello"), undefined);
    expect(plain).toMatch(/^kai:v2:[A-Za-z0-9_-]+$/);
    expect(decryptTransit(plain, undefined, keys).plaintext.toString()).toBe("hello");
    expect(() => decryptTransit(plain, "", keys)).toThrow(DecryptionError);
    const bound = encryptTransit(key, 2, Buffer.from("hello"), "tenant-1");
    expect(decryptTransit(bound, "tenant-1", keys).plaintext.toString()).toBe("hello");
    expect(() => decryptTransit(bound, "tenant-2", keys)).toThrow(DecryptionError);
    expect(() => decryptTransit(bound, undefined, keys)).toThrow(DecryptionError);
  });

  it("fails the same way for every malformed input", () => {
    const good = encryptTransit(key, 2, Buffer.from("hello"), undefined);
    const body = good.slice("kai:v2:".length);
    const bad = [
      "", "kai:v2:", `vault:v2:${body}`, `kai:v3:${body}`, `kai:v0:${body}`, `kai:v02:${body}`, `kai:v2:${body.slice(0, 20)}`,
      `kai:v2:${body}=`, `kai:v2:${body}!`, `kai:v2:${body.slice(0, -1)}${body.endsWith("A") ? "B" : "A"}`, `kai:v99999999999:${body}`,
    ];
    for (const text of bad) expect(() => decryptTransit(text, undefined, keys), text).toThrow(DecryptionError);
  });
});

describe("key material", () => {
  it("never prints its bytes and is zeroed by destroy()", () => {
    const bytes = Buffer.from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex");
    const material = new KeyMaterial(bytes);
    for (const shown of [JSON.stringify({ material }), inspect(material), String(material), `${material}`]) {
      expect(shown).toContain("[REDACTED]");
      expect(shown).not.toContain("0011223344");
    }
    material.destroy();
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(() => material.bytes).toThrow();
  });
});
