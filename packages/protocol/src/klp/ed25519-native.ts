/**
 * @module klp/ed25519-native
 * Ed25519 through the platform's native crypto where there is one (Node's `node:crypto`, OpenSSL), found
 * at run time with `process.getBuiltinModule`, so that this package stays runtime-neutral: in a browser
 * there is no such module and keys.ts keeps the pure-JS implementation. Natively, signing and verifying
 * cost about a twentieth of the pure-JS price, which is what federation (a signature per statement) needs.
 *
 * Signatures are RFC 8032 deterministic either way, so both give identical bytes. For verification, the
 * strict rules (strict-ed25519.ts: canonical key, R and S, no small-order key or R) are checked before
 * OpenSSL is asked, as the pure-JS path does before @noble: OpenSSL alone accepts a small-order key.
 */
import type * as NodeCrypto from "node:crypto";
import { toHex } from "./encoding.js";
import { passesStrictChecks } from "./strict-ed25519.js";

type Crypto = typeof NodeCrypto;

export interface Ed25519Backend {
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

// DER prefixes of PKCS#8 (private) and SPKI (public) Ed25519 keys: the raw 32 bytes follow (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

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
      if (!passesStrictChecks(publicKey, signature)) return false;
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
