/**
 * @module klp/ed25519-native
 * Ed25519 through the platform's native crypto where there is one (Node's `node:crypto`, OpenSSL), found
 * at run time with `process.getBuiltinModule`, so that this package stays runtime-neutral: in a browser
 * there is no such module and keys.ts keeps the pure-JS implementation. Natively, signing and verifying
 * cost about a twentieth of the pure-JS price, which is what federation (a signature per statement) needs.
 *
 * Signatures are RFC 8032 deterministic either way, so both give identical bytes. For verification, the
 * strict rules the pure-JS path applies (`zip215: false`: canonical encodings of the key, R and S) are
 * checked here before OpenSSL is asked, so that both paths accept exactly the same signatures.
 */
import type * as NodeCrypto from "node:crypto";
import { toHex } from "./encoding.js";

type Crypto = typeof NodeCrypto;

export interface Ed25519Backend {
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

// DER prefixes of PKCS#8 (private) and SPKI (public) Ed25519 keys: the raw 32 bytes follow (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

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

/**
 * `prefix || key` as what node:crypto's DER import takes. Node accepts any Uint8Array there; its typings
 * name only Buffer, and Buffer itself must not be named in this runtime-neutral package.
 */
const der = (prefix: Uint8Array, key: Uint8Array) => {
  const out = new Uint8Array(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out as unknown as Parameters<Crypto["createPublicKey"]>[0] & NodeCrypto.PublicKeyInput["key"];
};

/** Most keys kept ready (node keys, peers, services): parsing a key costs about as much as a verify. */
const KEY_CACHE_SIZE = 4096;

function cached<K, V>(cache: Map<K, V>, key: K, make: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size >= KEY_CACHE_SIZE) cache.delete(cache.keys().next().value as K);
    cache.set(key, value);
  }
  return value;
}

function nativeBackend(crypto: Crypto): Ed25519Backend {
  const privateKeys = new Map<string, NodeCrypto.KeyObject>();
  const publicKeys = new Map<string, NodeCrypto.KeyObject>();
  return {
    sign(secretKey, message) {
      const key = cached(privateKeys, toHex(secretKey), () => crypto.createPrivateKey({ key: der(PKCS8_PREFIX, secretKey), format: "der", type: "pkcs8" }));
      return new Uint8Array(crypto.sign(null, message, key));
    },
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      if (!canonicalPoint(publicKey) || !canonicalPoint(signature.subarray(0, 32)) || !lessThan(signature.subarray(32), ORDER_LE)) return false;
      try {
        const key = cached(publicKeys, toHex(publicKey), () => crypto.createPublicKey({ key: der(SPKI_PREFIX, publicKey), format: "der", type: "spki" }));
        return crypto.verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** The native backend, or undefined where the platform has none (browsers, or Node without getBuiltinModule). */
export function loadNativeEd25519(): Ed25519Backend | undefined {
  const processLike = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = processLike?.getBuiltinModule?.("node:crypto") as Crypto | undefined;
  if (!crypto || typeof crypto.sign !== "function") return undefined;
  try {
    return nativeBackend(crypto);
  } catch {
    return undefined;
  }
}
