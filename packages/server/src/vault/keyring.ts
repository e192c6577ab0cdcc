/**
 * @module vault/keyring
 * The vault's data keys: random 256-bit keys with versions. The newest is `active` (it encrypts); older
 * ones are `retired`: no stored secret is under them any more (rotation re-encrypted every secret), and
 * they are kept only so transit ciphertexts made under them can still be decrypted or rewrapped, up to a
 * window of versions, after which they are destroyed (like Transit's min_decryption_version).
 *
 * Serialised in binary, never as text, so no key ever exists as an unzeroable JS string:
 * `"KR1\0" | count(4) | count × (version(4) | state(1) | createdAtMs(f64) | key(32))`, then wrapped with
 * AES-256-GCM under the key-encryption key. The AAD is the header's (vault-header.ts: it binds the active
 * version shown while locked); a wrong KEK or an altered blob or AAD is a tag failure here.
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { DecryptionError, KEY_BYTES, NONCE_BYTES, open, seal, TAG_BYTES } from "./crypto/aead.js";
import { KeyMaterial, REDACTED } from "./redacted.js";

export type KeyState = "active" | "retired";

export interface DataKey {
  version: number;
  state: KeyState;
  createdAt: number;
  key: KeyMaterial;
}

const MAGIC = Buffer.from("KR1\0", "latin1");
const ENTRY_BYTES = 4 + 1 + 8 + KEY_BYTES;

export class Keyring {
  private readonly keys = new Map<number, DataKey>();

  private constructor(keys: DataKey[]) {
    for (const key of keys) this.keys.set(key.version, key);
    if (keys.filter((key) => key.state === "active").length !== 1) throw new Error("a keyring has exactly one active key");
  }

  /** A new keyring with one fresh active key, version 1. */
  static create(now: number): Keyring {
    return new Keyring([{ version: 1, state: "active", createdAt: now, key: new KeyMaterial(randomBytes(KEY_BYTES)) }]);
  }

  /** Unwraps with the KEK; `DecryptionError` when the KEK is wrong or the blob was altered. */
  static unwrap(wrapped: Buffer, kek: Buffer, aad: Buffer): Keyring {
    if (wrapped.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError();
    const plain = open(
      kek,
      { nonce: wrapped.subarray(0, NONCE_BYTES), ciphertext: wrapped.subarray(NONCE_BYTES, wrapped.length - TAG_BYTES), tag: wrapped.subarray(wrapped.length - TAG_BYTES) },
      aad,
    );
    try {
      return Keyring.decode(plain);
    } finally {
      plain.fill(0);
    }
  }

  private static decode(plain: Buffer): Keyring {
    if (plain.length < 8 || !plain.subarray(0, 4).equals(MAGIC)) throw new Error("keyring layout not recognised");
    const count = plain.readUInt32BE(4);
    if (plain.length !== 8 + count * ENTRY_BYTES) throw new Error("keyring length does not match its count");
    const keys: DataKey[] = [];
    for (let i = 0; i < count; i++) {
      const at = 8 + i * ENTRY_BYTES;
      const state = plain.readUInt8(at + 4);
      if (state !== 1 && state !== 2) throw new Error("keyring holds an unknown key state");
      keys.push({
        version: plain.readUInt32BE(at),
        state: state === 1 ? "active" : "retired",
        createdAt: plain.readDoubleBE(at + 5),
        // A copy: the decoded plaintext is zeroed by the caller.
        key: new KeyMaterial(Buffer.from(plain.subarray(at + 13, at + 13 + KEY_BYTES))),
      });
    }
    return new Keyring(keys);
  }

  /** nonce | ciphertext | tag under the KEK. */
  wrap(kek: Buffer, aad: Buffer): Buffer {
    const plain = this.encode();
    try {
      const sealed = seal(kek, plain, aad);
      return Buffer.concat([sealed.nonce, sealed.ciphertext, sealed.tag]);
    } finally {
      plain.fill(0);
    }
  }

  private encode(): Buffer {
    const list = this.list();
    const out = Buffer.alloc(8 + list.length * ENTRY_BYTES);
    MAGIC.copy(out, 0);
    out.writeUInt32BE(list.length, 4);
    list.forEach((key, i) => {
      const at = 8 + i * ENTRY_BYTES;
      out.writeUInt32BE(key.version, at);
      out.writeUInt8(key.state === "active" ? 1 : 2, at + 4);
      out.writeDoubleBE(key.createdAt, at + 5);
      key.key.bytes.copy(out, at + 13);
    });
    return out;
  }

  get active(): DataKey {
    for (const key of this.keys.values()) if (key.state === "active") return key;
    throw new Error("keyring has no active key");
  }

  /** The key bytes of a version, or null when it is not (or no longer) in the keyring. */
  keyFor(version: number): Buffer | null {
    const key = this.keys.get(version);
    return key && !key.key.destroyed ? key.key.bytes : null;
  }

  /** Oldest first. */
  list(): DataKey[] {
    return [...this.keys.values()].sort((a, b) => a.version - b.version);
  }

  /**
   * The keyring after a rotation: a new active key; the previous active one retired; retired keys beyond
   * the newest `keepRetired` dropped. Returns the new keyring (this one is unchanged until `adopt`).
   */
  rotated(now: number, keepRetired: number): { next: Keyring; newVersion: number; retired: number[]; dropped: number[] } {
    const list = this.list();
    const newVersion = Math.max(...list.map((key) => key.version)) + 1;
    const retired = list.filter((key) => key.state === "active").map((key) => key.version);
    const olds = list.map((key) => ({ ...key, state: "retired" as const }));
    const keep = olds.slice(Math.max(0, olds.length - keepRetired));
    const dropped = olds.filter((key) => !keep.includes(key)).map((key) => key.version);
    // The new keyring shares the KeyMaterial objects of the keys it keeps; dropped ones are destroyed by the caller.
    const next = new Keyring([...keep, { version: newVersion, state: "active", createdAt: now, key: new KeyMaterial(randomBytes(KEY_BYTES)) }]);
    return { next, newVersion, retired, dropped };
  }

  /** Zeroes the given versions' keys (after a rotation committed). */
  destroyVersions(versions: readonly number[]): void {
    for (const version of versions) this.keys.get(version)?.key.destroy();
  }

  /** Zeroes every key (lock, close). */
  destroy(): void {
    for (const key of this.keys.values()) key.key.destroy();
    this.keys.clear();
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Keyring(${this.list().map((key) => `v${key.version}:${key.state}`).join(", ")})`;
  }
}
