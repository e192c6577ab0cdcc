/**
 * @module klp/strict-ed25519
 * The strict verification rules of spec §2, checked on the bytes before any Ed25519 library sees them, so
 * that the native (node:crypto) and the pure-JS (@noble/curves) paths refuse exactly the same inputs:
 * - `S` must be below the group order L (no malleated `S + L`);
 * - the key and `R` must be canonical point encodings (y below p);
 * - neither the key nor `R` may be a point of small order (the eight points of the torsion subgroup).
 *
 * Why the last rule: with a small-order key A, `[8]A` is the identity, so the cofactored equation
 * `[8]SB = [8]R + [8]kA` holds for S = 0 and any small-order R whatever the message — the key's DID would
 * "sign" everything. OpenSSL accepts such keys; RFC 8032 leaves them to the verifier; KLP refuses them. An
 * honest signature never has a small-order R (R = rB with r derived from a hash, never 0 mod L).
 */
import { ed25519 } from "@noble/curves/ed25519.js";

/** The group order L, little-endian: S must be below it (RFC 8032 §5.1.7). */
const ORDER_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x10,
]);

/** a < b for two 32-byte little-endian numbers. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]!;
  }
  return false;
}

/** A point encoding is canonical when its y (the low 255 bits) is below p = 2^255 - 19. */
function canonicalPoint(bytes: Uint8Array): boolean {
  // y >= p only when the top 250 bits are all ones and the low byte is >= 0xed.
  if ((bytes[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (bytes[i] !== 0xff) return true;
  return bytes[0]! < 0xed;
}

let smallOrder: Uint8Array[] | undefined;

/**
 * The canonical-y encodings of the eight small-order points, computed from the curve (once, on first use):
 * the torsion component `[L]P` of a point P whose component has order 8 generates the torsion subgroup, and
 * its multiples 0..7 are all of it. The two points with x = 0 (the identity and (0, -1)) are listed a second
 * time with the sign bit set: that spelling is non-canonical but decodes to the same point in lenient
 * decoders. Encodings with y >= p are refused by `canonicalPoint` already, so they need no entry here.
 */
export function smallOrderEncodings(): readonly Uint8Array[] {
  if (smallOrder) return smallOrder;
  const { Point } = ed25519;
  const order = Point.Fn.ORDER;
  let generator: InstanceType<typeof Point> | undefined;
  for (let y = 2; generator === undefined; y++) {
    const candidate = new Uint8Array(32);
    candidate[0] = y;
    let point: InstanceType<typeof Point>;
    try {
      point = Point.fromBytes(candidate);
    } catch {
      continue; // y is not the y of a curve point
    }
    // [L]P, written [L-1]P + P because scalar APIs take scalars below L.
    const torsion = point.multiplyUnsafe(order - 1n).add(point);
    if (!torsion.double().double().is0()) generator = torsion;
  }
  const encodings: Uint8Array[] = [];
  let multiple = Point.ZERO;
  for (let i = 0; i < 8; i++, multiple = multiple.add(generator)) {
    const bytes = multiple.toBytes();
    encodings.push(bytes);
    if (multiple.x === 0n) {
      const signed = Uint8Array.from(bytes);
      signed[31] = signed[31]! | 0x80;
      encodings.push(signed);
    }
  }
  smallOrder = encodings;
  return encodings;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `bytes` (32 bytes, canonical y) encodes a point of small order. */
export function isSmallOrderEncoding(bytes: Uint8Array): boolean {
  for (const encoding of smallOrderEncodings()) if (equalBytes(bytes, encoding)) return true;
  return false;
}

/**
 * The checks every verification runs before the curve arithmetic: sizes, canonical key and R, S < L, and
 * no small-order key or R. False means "does not verify", whatever the message.
 */
export function passesStrictChecks(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const r = signature.subarray(0, 32);
  if (!canonicalPoint(publicKey) || !canonicalPoint(r) || !lessThan(signature.subarray(32), ORDER_LE)) return false;
  return !isSmallOrderEncoding(publicKey) && !isSmallOrderEncoding(r);
}
