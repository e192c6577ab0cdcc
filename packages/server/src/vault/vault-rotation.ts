/**
 * @module vault/vault-rotation
 * Data-key rotation: a new active key version, every stored secret re-encrypted under it (and its head
 * re-sealed) in ONE transaction with its audit entry, the previous key retired (kept for transit
 * decrypt/rewrap up to `keepRetiredKeys` versions, then zeroed). Also counts encryptions per key version, and rotates as the server once the active
 * key has done `rotateAfterEncryptions` of them, so a long-lived key never encrypts without bound.
 * A secret that fails its integrity check (head or any version) is skipped and reported by name (log line,
 * audit entry), so one tampered row cannot keep the rest of the vault on an old key.
 * Rotation holds the exclusive lock; the encrypting parts call `maybeAutoRotate` after releasing their
 * shared one.
 *
 * Several instances on one store: the counters are increments (`addKeyUsage`), so every instance's
 * encryptions add up, and the total each transaction returns is what `maybeAutoRotate` compares. A rotation
 * commits only over the header this instance's keys came from (checked inside its transaction, which the
 * store serialises with every instance's): when two instances reach the threshold together, one rotates and
 * the other finds `StaleKeys`, reloads the new keyring and, its count now being the new key's, does not
 * rotate again. The committed rotation is announced (`core.headerChanged`) so the others reload.
 */
import type { VaultTx } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import { decryptSecret, encryptSecret } from "./crypto/secret-format.js";
import { SERVER_ACTOR, type VaultCore } from "./vault-core.js";
import { keyringAad, VAULT_FORMAT } from "./vault-header.js";
import { checkHead, sealHead, type KeyLookup } from "./secret-integrity.js";
import { notInitialized, Refusal, StaleKeys } from "./vault-errors.js";

export interface RotationResult {
  keyVersion: number;
  reencrypted: number;
  retiredVersions: number[];
  /** Secrets left as they were because they failed their integrity check (reported, not rotated). */
  skipped: string[];
}

export class VaultRotation {
  private readonly keepRetired: number;
  /** An automatic rotation is queued or running: further triggers need not queue another. */
  private rotating = false;

  constructor(
    private readonly core: VaultCore,
    /** Reloads the keys from the store (vault-reload.ts); takes the exclusive lock itself. */
    private readonly reload: () => Promise<void>,
  ) {
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
    const attempt = () =>
      core.lockState.exclusive(async () => {
        // Re-check under the lock: another caller may have rotated (or locked) meanwhile.
        const current = core.unlocked;
        if (!current || (current.usage.get(current.keyring.active.version) ?? 0) < core.deps.config.rotateAfterEncryptions) return;
        await this.rotateExclusive(SERVER_ACTOR, "automatic");
      });
    try {
      try {
        await attempt();
      } catch (error) {
        if (!(error instanceof StaleKeys)) throw error;
        // Another instance rotated (or re-keyed) first: take its keyring; the check above then sees its count.
        await this.reload();
        await attempt();
      }
    } catch (error) {
      core.deps.logger.error({ err: error }, "vault: automatic rotation failed");
    } finally {
      this.rotating = false;
    }
  }

  /**
   * Adds `count` encryptions under `version` in `tx` (so the count commits with them) and returns the total the
   * store reports; the caller hands it to `core.noteUsage` once the transaction committed.
   */
  countEncryptions(tx: VaultTx, version: number, count: number): number {
    return tx.addKeyUsage(version, count);
  }

  /** Runs with the exclusive lock held. */
  private async rotateExclusive(actor: VaultActor, why: string | null): Promise<RotationResult> {
    const { core } = this;
    const op = "rotate";
    const state = await core.requireUnlocked(actor, op, null);
    const { next, newVersion, retired, dropped } = state.keyring.rotated(core.now(), this.keepRetired);
    const oldKeyFor = (version: number) => state.keyring.keyFor(version);
    const newKeyFor = (version: number) => next.keyFor(version);
    const newKey = next.keyFor(newVersion)!;
    let outcome: { reencrypted: number; skipped: Skipped[]; total: number };
    let wrapped: Buffer;
    try {
      wrapped = next.wrap(state.kek.bytes, keyringAad(VAULT_FORMAT, newVersion));
      const sealed = wrapped;
      outcome = await core.audit.write(actor, op, null, (tx) => {
        if (!tx.getHeader()) throw new Refusal(notInitialized(), "failed", "vault_not_initialized");
        // Only over the keyring these keys came from: otherwise another instance's rotation would be undone.
        const header = core.checkFreshIn(tx, state);
        let reencrypted = 0;
        const skipped: Skipped[] = [];
        for (const name of new Set(tx.allSecretVersions().map((row) => row.name))) {
          const result = reencryptSecret(tx, name, oldKeyFor, newKeyFor, newKey, newVersion);
          if (typeof result === "number") reencrypted += result;
          else skipped.push({ name, what: result.what });
        }
        tx.putHeader({ ...header, format: VAULT_FORMAT, keyring: sealed, activeVersion: newVersion, updatedAt: core.iso() });
        const total = tx.addKeyUsage(newVersion, reencrypted);
        for (const version of dropped) tx.deleteKeyUsage(version);
        const reason = `v${newVersion}, re-encrypted ${reencrypted}${skipped.length ? `, skipped ${skipped.length} tampered secret(s)` : ""}${why ? `, ${why}` : ""}`;
        return { reason, value: { reencrypted, skipped, total } };
      }, { allSecrets: true });
    } catch (error) {
      next.destroyVersions([newVersion]);
      throw error;
    }
    const { reencrypted, skipped, total } = outcome;
    // Committed: switch to the new keyring in memory and zero the keys that left the window.
    state.usage.set(newVersion, total);
    for (const version of dropped) state.usage.delete(version);
    state.keyring.destroyVersions(dropped);
    state.keyring = next;
    state.wrapped = wrapped;
    core.deps.onKeyringLoaded?.(next);
    core.deps.logger.info({ keyVersion: newVersion, reencrypted, skipped: skipped.length }, "vault data key rotated");
    core.headerChanged();
    // Each skipped secret is reported on its own (log line by name, audit entry), after the rotation committed.
    for (const { name, what } of skipped) {
      core.deps.logger.error({ operation: op, secret: name }, `vault: tampering detected: secret ${name}: ${what}; rotation left it as it was`);
      try {
        await core.audit.record(core.audit.draft(actor, op, name, "failed", `tampered: ${what}; not rotated`));
      } catch {
        // The rotation itself committed with its own entry; the log line above still names the secret.
      }
    }
    return { keyVersion: newVersion, reencrypted, retiredVersions: retired, skipped: skipped.map((entry) => entry.name) };
  }
}

interface Skipped {
  name: string;
  what: string;
}

/**
 * Re-encrypts every kept version of one secret under the new key and re-seals its head; returns how many
 * versions, or what is wrong when its head or any version fails its check (then nothing of it is changed).
 */
function reencryptSecret(
  tx: VaultTx,
  name: string,
  oldKeyFor: KeyLookup,
  newKeyFor: KeyLookup,
  newKey: Buffer,
  newVersion: number,
): number | { what: string } {
  const stored = tx.getSecret(name);
  if (!stored) return { what: "it has versions but no metadata row" };
  const checked = checkHead(stored, oldKeyFor);
  if ("what" in checked) return checked;
  const plaintexts: Array<{ version: number; plaintext: Buffer }> = [];
  try {
    for (const row of stored.versions) {
      try {
        plaintexts.push({ version: row.version, plaintext: decryptSecret(row.ciphertext, name, row.version, oldKeyFor) });
      } catch {
        return { what: `its version ${row.version} failed to decrypt` };
      }
    }
    for (const { version, plaintext } of plaintexts) {
      const ciphertext = encryptSecret(newKey, newVersion, name, version, plaintext);
      tx.replaceCiphertext(name, version, newVersion, ciphertext);
      if (version === stored.meta.version) tx.putSecretMeta({ ...stored.meta, headMac: sealHead(stored.meta, ciphertext, newKeyFor) });
    }
    return plaintexts.length;
  } finally {
    for (const { plaintext } of plaintexts) plaintext.fill(0);
  }
}
