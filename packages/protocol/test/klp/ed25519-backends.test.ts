/**
 * The native (node:crypto) and pure-JS (@noble/curves) Ed25519 paths must be interchangeable: the same
 * signatures, and the same verdict on every input, including the strict-encoding cases (S ≥ L, a key or R
 * whose y is not below p) that RFC 8032 verifiers must refuse, and small-order keys and R (spec §2), which
 * would otherwise let the key's DID "sign" every message. Checked on the golden keys and on random
 * messages, keys and mutated signatures; the small-order points are computed here from the curve.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed25519Implementation, fromHex, generateKeyPair, keyPairFromSeed, signBytes, toHex, useEd25519Implementation, verifyBytes } from "../../src/klp/index.js";
import { smallOrderEncodings } from "../../src/klp/strict-ed25519.js";

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

/** p = 2^255 - 19, little-endian bytes of a number below 2^256. */
const P = 2n ** 255n - 19n;
function littleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0, v = value; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
function yOf(encoding: Uint8Array): bigint {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? encoding[i]! & 0x7f : encoding[i]!);
  return y;
}

/**
 * The torsion subgroup of the curve, found by brute force: the component [L]P of points P decoded from
 * hashes, collected until eight distinct points have turned up (the subgroup has exactly eight).
 */
function torsionPoints(): InstanceType<typeof ed25519.Point>[] {
  const { Point } = ed25519;
  const order = Point.Fn.ORDER;
  const found = new Map<string, InstanceType<typeof Point>>();
  for (let i = 0; found.size < 8 && i < 10_000; i++) {
    let point: InstanceType<typeof Point>;
    try {
      point = Point.fromBytes(createHash("sha256").update(`torsion ${i}`).digest(), true);
    } catch {
      continue;
    }
    const torsion = point.multiplyUnsafe(order - 1n).add(point);
    found.set(toHex(torsion.toBytes()), torsion);
  }
  return [...found.values()];
}

/**
 * Every 32-byte spelling of a small-order point: the canonical encodings, the same y with the sign bit set
 * where x = 0, and the non-canonical y + p (for the y below 19, i.e. 0 and 1) with either sign bit.
 */
function smallOrderSpellings(points: InstanceType<typeof ed25519.Point>[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const point of points) {
    const canonical = point.toBytes();
    out.push(canonical);
    if (point.x === 0n) out.push(Uint8Array.from(canonical, (b, i) => (i === 31 ? b | 0x80 : b)));
    const y = yOf(canonical);
    if (y + P < 2n ** 255n) {
      const unreduced = littleEndian(y + P);
      out.push(unreduced, Uint8Array.from(unreduced, (b, i) => (i === 31 ? b | 0x80 : b)));
    }
  }
  return out;
}

describe("small-order keys and R (spec §2)", () => {
  const torsion = torsionPoints();
  const spellings = smallOrderSpellings(torsion);

  it("the curve has eight small-order points, and the verifier knows each canonical spelling", () => {
    expect(torsion).toHaveLength(8);
    for (const point of torsion) expect(point.clearCofactor().is0()).toBe(true);
    const canonical = new Set(spellings.filter((bytes) => yOf(bytes) < P).map(toHex));
    expect(new Set(smallOrderEncodings().map(toHex))).toEqual(canonical);
    expect(spellings.length).toBeGreaterThan(canonical.size);
  });

  it("both refuse the identity key with R = identity and S = 0, which a lenient verifier accepts for any message", () => {
    const identity = ed25519.Point.ZERO.toBytes();
    const forged = new Uint8Array(64);
    forged.set(identity, 0);
    for (const text of ["", "anything", "transfer everything"]) {
      expect(both(() => verifyBytes(identity, new TextEncoder().encode(text), forged))).toEqual({ native: false, pureJs: false });
    }
  });

  it("both refuse every small-order key with every small-order R and S = 0, on random messages", () => {
    const zeroS = new Uint8Array(32);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (message) => {
        for (const key of spellings) {
          for (const r of spellings) {
            const signature = new Uint8Array(64);
            signature.set(r, 0);
            signature.set(zeroS, 32);
            expect(both(() => verifyBytes(key, message, signature)), `key ${toHex(key)} R ${toHex(r)}`).toEqual({ native: false, pureJs: false });
          }
        }
      }),
      { numRuns: 5 },
    );
  });

  it("both refuse a real key's signature whose R is replaced by a small-order point", () => {
    const pair = generateKeyPair();
    const message = new TextEncoder().encode("small R");
    const signature = signBytes(pair.secretKey, message);
    for (const r of spellings) {
      const tampered = Uint8Array.from(signature);
      tampered.set(r, 0);
      expect(both(() => verifyBytes(pair.publicKey, message, tampered))).toEqual({ native: false, pureJs: false });
    }
  });
});
