/**
 * The native (node:crypto) and pure-JS (@noble/curves) Ed25519 paths must be interchangeable: the same
 * signatures, and the same verdict on every input, including the strict-encoding cases (S ≥ L, a key or R
 * whose y is not below p) that RFC 8032 verifiers must refuse. Checked on the golden keys and on random
 * messages, keys and mutated signatures.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ed25519Implementation, fromHex, generateKeyPair, keyPairFromSeed, signBytes, useEd25519Implementation, verifyBytes } from "../../src/klp/index.js";

const keys = (JSON.parse(readFileSync(new URL("./vectors/keys.json", import.meta.url), "utf8")) as { keys: { seedHex: string }[] }).keys;
const initial = ed25519Implementation();
afterAll(() => useEd25519Implementation(initial));

function both<T>(run: () => T): { native: T; pureJs: T } {
  useEd25519Implementation("native");
  const native = run();
  useEd25519Implementation("pure-js");
  const pureJs = run();
  return { native, pureJs };
}

const L_LE = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

function addLittleEndian(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = a[i]! + b[i]! + carry;
    out[i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

describe("Ed25519 implementations", () => {
  it("Node uses the native one by default", () => {
    expect(initial).toBe("native");
  });

  it("sign identically with every golden key", () => {
    for (const key of keys) {
      const pair = keyPairFromSeed(fromHex(key.seedHex));
      const message = new TextEncoder().encode(`golden ${key.seedHex}`);
      const { native, pureJs } = both(() => signBytes(pair.secretKey, message));
      expect(native).toEqual(pureJs);
      expect(both(() => verifyBytes(pair.publicKey, message, native))).toEqual({ native: true, pureJs: true });
    }
  });

  it("agree on random messages and mutated signatures", () => {
    const pair = generateKeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(63), fc.integer({ min: 1, max: 255 }), (message, index, flip) => {
        const signature = signBytes(pair.secretKey, message);
        const mutated = Uint8Array.from(signature);
        mutated[index] = mutated[index]! ^ flip;
        const verdicts = both(() => [verifyBytes(pair.publicKey, message, signature), verifyBytes(pair.publicKey, message, mutated)]);
        expect(verdicts.native).toEqual(verdicts.pureJs);
        expect(verdicts.native[0]).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("both refuse S + L (a malleated signature), a non-canonical key and a non-canonical R", () => {
    const pair = generateKeyPair();
    const message = new TextEncoder().encode("strict");
    const signature = signBytes(pair.secretKey, message);
    const malleated = Uint8Array.from(signature);
    malleated.set(addLittleEndian(signature.subarray(32), L_LE), 32);
    // y = p (2^255 - 19) encodes the same field element as y = 0, non-canonically.
    const nonCanonical = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    const badR = Uint8Array.from(signature);
    badR.set(nonCanonical, 0);
    for (const [publicKey, sig] of [
      [pair.publicKey, malleated],
      [nonCanonical, signature],
      [pair.publicKey, badR],
    ] as const) {
      expect(both(() => verifyBytes(publicKey, message, sig))).toEqual({ native: false, pureJs: false });
    }
  });
});
