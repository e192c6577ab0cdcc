/**
 * @module vault/vault-transit
 * Transit encryption (encryption as a service: the caller keeps the ciphertext, the vault keeps the key):
 * encrypt under the active data key, decrypt under any key version still in the keyring, rewrap to the
 * active one. Every decrypt failure (bad input, wrong associated data, retired-and-dropped key) is the same
 * `decryption_failed`, so a failure tells the caller nothing about why. Holds the shared lock; encrypting
 * operations may then trigger an automatic rotation (vault-rotation.ts) once it is released.
 *
 * Several instances: an encryption commits only while this instance's active key is still the store's (checked
 * in its transaction, so nothing is ever sealed under a key another instance retired), and a ciphertext under
 * a key version this instance does not hold yet is retried after a reload (`StaleKeys`) rather than refused.
 */
import { EncryptRequestSchema } from "@kai/protocol";
import type { VaultActor } from "./vault.js";
import { decryptTransit, encryptTransit } from "./crypto/transit-format.js";
import type { UnlockedKeys, VaultCore } from "./vault-core.js";
import type { VaultRotation } from "./vault-rotation.js";
import type { VaultTx } from "../storage/contracts/vault-store.js";
import { decryptionFailed, StaleKeys, validation } from "./vault-errors.js";

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
      return this.sealed(actor, op, state, plaintext, associatedData, "");
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
      const plaintext = await this.open(state, ciphertext, associatedData);
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
      const plaintext = await this.open(state, ciphertext, associatedData);
      if (plaintext === null) return core.audit.refuse(actor, op, null, "failed", "decryption_failed", decryptionFailed());
      return this.sealed(actor, op, state, plaintext, associatedData, "to ");
    });
    await this.rotation.maybeAutoRotate();
    return result;
  }

  /** Encrypts under the active data key in one transaction with its count and audit entry; `label` prefixes the entry's reason. */
  private async sealed(actor: VaultActor, op: string, state: UnlockedKeys, plaintext: string, associatedData: string | undefined, label: string) {
    let used = 0;
    const sealed = await this.core.audit.write(actor, op, null, (tx) => {
      this.core.checkFreshIn(tx, state);
      const result = this.seal(tx, state, plaintext, associatedData);
      used = result.used;
      return { reason: `${label}v${result.keyVersion}`, value: { ciphertext: result.ciphertext, keyVersion: result.keyVersion } };
    });
    this.core.noteUsage(state, sealed.keyVersion, used);
    return sealed;
  }

  /** Encrypts under the active data key, counting the encryption against that key version in the same transaction. */
  private seal(tx: VaultTx, state: UnlockedKeys, plaintext: string, associatedData: string | undefined): { ciphertext: string; keyVersion: number; used: number } {
    const active = state.keyring.active;
    const bytes = Buffer.from(plaintext, "utf8");
    const ciphertext = encryptTransit(active.key.bytes, active.version, bytes, associatedData);
    bytes.fill(0);
    const used = this.rotation.countEncryptions(tx, active.version, 1);
    return { ciphertext, keyVersion: active.version, used };
  }

  /**
   * The plaintext, or null for any failure (callers answer every failure the same way). A failure while the
   * store holds a newer header is `StaleKeys` instead: the ciphertext may be under a key another instance made.
   */
  private async open(state: UnlockedKeys, ciphertext: string, associatedData: string | undefined): Promise<string | null> {
    const plaintext = this.tryOpen(state, ciphertext, associatedData);
    if (plaintext === null && (await this.core.keysOutdated())) throw new StaleKeys();
    return plaintext;
  }

  private tryOpen(state: UnlockedKeys, ciphertext: string, associatedData: string | undefined): string | null {
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
