/**
 * @module vault/vault-transit
 * Transit encryption (encryption as a service: the caller keeps the ciphertext, the vault keeps the key):
 * encrypt under the active data key, decrypt under any key version still in the keyring, rewrap to the
 * active one. Every decrypt failure (bad input, wrong associated data, retired-and-dropped key) is the same
 * `decryption_failed`, so a failure tells the caller nothing about why. Holds the shared lock; encrypting
 * operations may then trigger an automatic rotation (vault-rotation.ts) once it is released.
 */
import { EncryptRequestSchema } from "@kai/protocol";
import type { VaultActor } from "./vault.js";
import { decryptTransit, encryptTransit } from "./crypto/transit-format.js";
import type { UnlockedKeys, VaultCore } from "./vault-core.js";
import type { VaultRotation } from "./vault-rotation.js";
import type { VaultTx } from "../storage/contracts/vault-store.js";
import { decryptionFailed, validation } from "./vault-errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Larger inputs are refused before any parsing or decryption work. */
const MAX_CIPHERTEXT_CHARS = 2 * 1024 * 1024;

export class VaultTransit {
  constructor(
    private readonly core: VaultCore,
    private readonly rotation: VaultRotation,
  ) {}

  async encrypt(plaintext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }> {
    const { core } = this;
    const op = "transit.encrypt";
    const result = await core.lockState.shared(async () => {
      await core.authorize(actor, op, null, ["vault:write"]);
      const parsed = EncryptRequestSchema.safeParse({ plaintext, associatedData });
      if (!parsed.success) await core.audit.refuse(actor, op, null, "failed", "validation_failed", validation("plaintext", "too long"));
      const state = await core.requireUnlocked(actor, op, null);
      return core.audit.write(actor, op, null, (tx) => {
        const sealed = this.seal(tx, state, plaintext, associatedData);
        return { reason: `v${sealed.keyVersion}`, value: sealed };
      });
    });
    await this.rotation.maybeAutoRotate();
    return result;
  }

  decrypt(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ plaintext: string }> {
    const { core } = this;
    const op = "transit.decrypt";
    return core.lockState.shared(async () => {
      await core.authorize(actor, op, null, ["vault:read"]);
      const state = await core.requireUnlocked(actor, op, null);
      const plaintext = this.open(state, ciphertext, associatedData);
      if (plaintext === null) return core.audit.refuse(actor, op, null, "failed", "decryption_failed", decryptionFailed());
      await core.audit.record(core.audit.draft(actor, op, null, "allowed", null));
      return { plaintext };
    });
  }

  async rewrap(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }> {
    const { core } = this;
    const op = "transit.rewrap";
    const result = await core.lockState.shared(async () => {
      await core.authorize(actor, op, null, ["vault:write"]);
      const state = await core.requireUnlocked(actor, op, null);
      const plaintext = this.open(state, ciphertext, associatedData);
      if (plaintext === null) return core.audit.refuse(actor, op, null, "failed", "decryption_failed", decryptionFailed());
      return core.audit.write(actor, op, null, (tx) => {
        const sealed = this.seal(tx, state, plaintext, associatedData);
        return { reason: `to v${sealed.keyVersion}`, value: sealed };
      });
    });
    await this.rotation.maybeAutoRotate();
    return result;
  }

  /** Encrypts under the active data key, counting the encryption against that key version in the same transaction. */
  private seal(tx: VaultTx, state: UnlockedKeys, plaintext: string, associatedData: string | undefined): { ciphertext: string; keyVersion: number } {
    const active = state.keyring.active;
    const bytes = Buffer.from(plaintext, "utf8");
    const ciphertext = encryptTransit(active.key.bytes, active.version, bytes, associatedData);
    bytes.fill(0);
    this.rotation.countEncryptions(tx, state, active.version, 1);
    return { ciphertext, keyVersion: active.version };
  }

  /** The plaintext, or null for any failure (callers answer every failure the same way). */
  private open(state: UnlockedKeys, ciphertext: string, associatedData: string | undefined): string | null {
    try {
      if (typeof ciphertext !== "string" || ciphertext.length > MAX_CIPHERTEXT_CHARS) return null;
      const { plaintext } = decryptTransit(ciphertext, associatedData, (version) => state.keyring.keyFor(version));
      try {
        return utf8.decode(plaintext);
      } finally {
        plaintext.fill(0);
      }
    } catch {
      return null;
    }
  }
}
