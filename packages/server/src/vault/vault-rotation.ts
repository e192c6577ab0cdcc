/**
 * @module vault/vault-rotation
 * Data-key rotation: a new active key version, every stored secret re-encrypted under it in ONE transaction
 * with its audit entry, the previous key retired (kept for transit decrypt/rewrap up to `keepRetiredKeys`
 * versions, then zeroed). Also counts encryptions per key version, and rotates as the server once the active
 * key has done `rotateAfterEncryptions` of them, so a long-lived key never encrypts without bound.
 * Rotation holds the exclusive lock; the encrypting parts call `maybeAutoRotate` after releasing their
 * shared one.
 */
import type { VaultTx } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import { decryptSecret, encryptSecret } from "./crypto/secret-format.js";
import { SERVER_ACTOR, type UnlockedKeys, type VaultCore } from "./vault-core.js";
import { integrityError, notInitialized, Refusal } from "./vault-errors.js";

export interface RotationResult {
  keyVersion: number;
  reencrypted: number;
  retiredVersions: number[];
}

export class VaultRotation {
  private readonly keepRetired: number;
  /** An automatic rotation is queued or running: further triggers need not queue another. */
  private rotating = false;

  constructor(private readonly core: VaultCore) {
    this.keepRetired = Math.max(0, core.deps.keepRetiredKeys ?? 2);
  }

  rotate(actor: VaultActor): Promise<RotationResult> {
    return this.core.lockState.exclusive(async () => {
      await this.core.authorize(actor, "rotate", null, ["vault:admin"]);
      return this.rotateExclusive(actor, null);
    });
  }

  /** Rotates as the server once the active key has done `rotateAfterEncryptions` encryptions. */
  async maybeAutoRotate(): Promise<void> {
    const { core } = this;
    const state = core.unlocked;
    if (!state || this.rotating) return;
    const active = state.keyring.active.version;
    if ((state.usage.get(active) ?? 0) < core.deps.config.rotateAfterEncryptions) return;
    this.rotating = true;
    try {
      await core.lockState.exclusive(async () => {
        // Re-check under the lock: another caller may have rotated (or locked) meanwhile.
        const current = core.unlocked;
        if (!current || (current.usage.get(current.keyring.active.version) ?? 0) < core.deps.config.rotateAfterEncryptions) return;
        await this.rotateExclusive(SERVER_ACTOR, "automatic");
      });
    } catch (error) {
      core.deps.logger.error({ err: error }, "vault: automatic rotation failed");
    } finally {
      this.rotating = false;
    }
  }

  /** Adds `count` encryptions under `version`, in memory and in `tx` (so the count commits with them). */
  countEncryptions(tx: VaultTx, state: UnlockedKeys, version: number, count: number): void {
    const used = (state.usage.get(version) ?? 0) + count;
    state.usage.set(version, used);
    tx.setKeyUsage(version, used);
  }

  /** Runs with the exclusive lock held. */
  private async rotateExclusive(actor: VaultActor, why: string | null): Promise<RotationResult> {
    const { core } = this;
    const op = "rotate";
    const state = await core.requireUnlocked(actor, op, null);
    const { next, newVersion, retired, dropped } = state.keyring.rotated(core.now(), this.keepRetired);
    const newKey = next.keyFor(newVersion)!;
    let reencrypted: number;
    try {
      const wrapped = next.wrap(state.kek.bytes);
      reencrypted = await core.audit.write(actor, op, null, (tx) => {
        const header = tx.getHeader();
        if (!header) throw new Refusal(notInitialized(), "failed", "vault_not_initialized");
        const rows = tx.allSecretVersions();
        for (const row of rows) {
          let plaintext: Buffer;
          try {
            plaintext = decryptSecret(row.ciphertext, row.name, row.version, (version) => state.keyring.keyFor(version));
          } catch {
            throw new Refusal(integrityError(), "failed", "integrity check failed; nothing rotated");
          }
          tx.replaceCiphertext(row.name, row.version, newVersion, encryptSecret(newKey, newVersion, row.name, row.version, plaintext));
          plaintext.fill(0);
        }
        tx.putHeader({ ...header, keyring: wrapped, activeVersion: newVersion, updatedAt: core.iso() });
        tx.setKeyUsage(newVersion, rows.length);
        for (const version of dropped) tx.deleteKeyUsage(version);
        const reason = `v${newVersion}, re-encrypted ${rows.length}${why ? `, ${why}` : ""}`;
        return { reason, value: rows.length };
      });
    } catch (error) {
      next.destroyVersions([newVersion]);
      throw error;
    }
    // Committed: switch to the new keyring in memory and zero the keys that left the window.
    state.usage.set(newVersion, reencrypted);
    for (const version of dropped) state.usage.delete(version);
    state.keyring.destroyVersions(dropped);
    state.keyring = next;
    core.deps.onKeyringLoaded?.(next);
    core.deps.logger.info({ keyVersion: newVersion, reencrypted }, "vault data key rotated");
    return { keyVersion: newVersion, reencrypted, retiredVersions: retired };
  }
}
