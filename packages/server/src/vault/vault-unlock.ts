/**
 * @module vault/vault-unlock
 * Bringing the keys into memory: `unlock` with the passphrase (behind the wrong-passphrase backoff) or,
 * without one, from the key file of a development-default vault (`<data-dir>/vault.key`, or the `.new`
 * file of a rekey interrupted after its header committed, which is then finished). The server calls
 * `unlockFromKeyFile` at start; `POST /api/vault/unlock` with no passphrase does the same after a lock.
 *
 * Each way a vault can fail to open has its own message and log line (vault-header.ts tells them apart): a
 * wrong passphrase, a missing vault.key, a vault.key of another vault, and an altered header.
 * Once open, the header is brought up to date in one transaction with the unlock's audit entry: stronger
 * PBKDF2 parameters (while the passphrase is at hand) and the format-1 → 2 migration (vault-migration.ts).
 * Both hold the exclusive lock; a key that was read but not adopted is zeroed on every path. That update
 * rewrites the header only if it is still the one that was opened (another instance may have changed it
 * meanwhile: then `StaleKeys`, and the unlock runs again on the new header), and is announced when committed.
 */
import { renameSync } from "node:fs";
import type { VaultStatus } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { VaultHeaderRow } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import { derivePassphraseKek, newPbkdf2Params, type StoredKdf } from "./crypto/kdf.js";
import type { Keyring } from "./keyring.js";
import { pendingVaultKeyPath, readKeyFile, vaultKeyPath } from "./key-files.js";
import type { VaultCore } from "./vault-core.js";
import { LEGACY_FORMAT, openHeader, sealHeader, VAULT_FORMAT } from "./vault-header.js";
import { migrateSecretHeads } from "./vault-migration.js";
import { headerTampered, invalidPassphrase, keyFileLegacyFailed, keyFileMissing, keyFileWrong, StaleKeys, validation } from "./vault-errors.js";

export class VaultUnlock {
  constructor(private readonly core: VaultCore) {}

  /** With `passphrase`; without (undefined), from the key file of a development-default vault. */
  unlock(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    if (passphrase === undefined) return this.fromKeyFile(actor, true);
    const { core } = this;
    return core.lockState.exclusive(async () => {
      const op = "unlock";
      await core.authorize(actor, op, null, ["vault:admin"]);
      const header = await core.requireHeader(actor, op, null);
      const wait = core.backoff.remainingSeconds();
      if (wait > 0) {
        await core.audit.refuse(
          actor, op, null, "denied", "rate_limited",
          new ApiError("rate_limited", `too many wrong passphrases; retry in ${wait} s`, undefined, { "Retry-After": String(wait) }),
        );
      }
      const kdf = await core.requireKdf(actor, op, header);
      // A key-file vault answers a passphrase exactly like a wrong one: nothing more is said.
      if (kdf.name !== "pbkdf2-sha256") {
        core.backoff.failed();
        return core.audit.refuse(actor, op, null, "failed", "invalid_passphrase", invalidPassphrase());
      }
      const kek = await derivePassphraseKek(passphrase, kdf);
      const opened = openHeader(header, kdf, kek);
      if ("failure" in opened) {
        kek.fill(0);
        // The passphrase was right (its check matched) but the header does not authenticate: not a guess.
        if (opened.failure === "tampered") return core.tampered(actor, op, null, opened.what, headerTampered());
        core.backoff.failed();
        return core.audit.refuse(actor, op, null, "failed", "invalid_passphrase", invalidPassphrase());
      }
      core.backoff.succeeded();
      return this.finish(actor, header, kdf, opened.keyring, kek, passphrase, null);
    });
  }

  unlockFromKeyFile(actor: VaultActor): Promise<VaultStatus> {
    return this.fromKeyFile(actor, false);
  }

  /** `viaApi`: asked for without a passphrase (the API and CLI), rather than by the server at start. */
  private fromKeyFile(actor: VaultActor, viaApi: boolean): Promise<VaultStatus> {
    const { core } = this;
    return core.lockState.exclusive(async () => {
      const op = "unlock";
      await core.authorize(actor, op, null, ["vault:admin"]);
      const header = await core.requireHeader(actor, op, null);
      const kdf = await core.requireKdf(actor, op, header);
      if (kdf.name !== "key-file") {
        const error = viaApi ? validation("passphrase", "this vault is protected by a passphrase; send it") : new ApiError("vault_locked", "this vault is protected by a passphrase");
        return core.audit.refuse(actor, op, null, "failed", "passphrase vault", error);
      }
      if (core.unlocked) {
        await core.audit.record(core.audit.draft(actor, op, null, "allowed", "already unlocked"));
        return core.status();
      }
      const candidates = this.readCandidates();
      if (candidates.length === 0) {
        core.deps.logger.error("vault: vault.key is missing from the data directory; the vault stays locked");
        return core.audit.refuse(actor, op, null, "failed", "key file missing", keyFileMissing());
      }
      // Try each candidate key file; the first that opens the keyring is kept, every other one is zeroed.
      let opened: { keyring: Keyring; kek: Buffer; path: string } | null = null;
      let tampered: string | null = null;
      for (const candidate of candidates) {
        if (opened) {
          candidate.key.fill(0);
          continue;
        }
        const result = openHeader(header, kdf, candidate.key);
        if ("keyring" in result) {
          opened = { keyring: result.keyring, kek: candidate.key, path: candidate.path };
        } else {
          candidate.key.fill(0);
          if (result.failure === "tampered") tampered = result.what;
        }
      }
      if (!opened) {
        if (tampered !== null) return core.tampered(actor, op, null, tampered, headerTampered());
        const legacy = header.format === LEGACY_FORMAT;
        core.deps.logger.error(
          legacy
            ? "vault: vault.key does not open this vault (a wrong key, or an altered keyring: a format-1 header cannot tell which); the vault stays locked"
            : "vault: vault.key does not belong to this vault (its key check does not match); the vault stays locked",
        );
        return core.audit.refuse(actor, op, null, "failed", "key file does not open the vault", legacy ? keyFileLegacyFailed() : keyFileWrong());
      }
      const status = await this.finish(actor, header, kdf, opened.keyring, opened.kek, undefined, "key file");
      // A rekey to a new key file was interrupted after its header committed: finish it.
      if (opened.path === pendingVaultKeyPath(core.keyDir)) renameSync(opened.path, vaultKeyPath(core.keyDir));
      return status;
    });
  }

  /** The unseal key candidates, newest first; a file that is not a 32-byte key is logged and skipped. */
  private readCandidates(): Array<{ path: string; key: Buffer }> {
    const out: Array<{ path: string; key: Buffer }> = [];
    for (const [path, label] of [[pendingVaultKeyPath(this.core.keyDir), "vault.key.new"], [vaultKeyPath(this.core.keyDir), "vault.key"]] as const) {
      try {
        const key = readKeyFile(path);
        if (key) out.push({ path, key });
      } catch {
        this.core.deps.logger.error(`vault: ${label} in the data directory is not a 32-byte key; it is ignored`);
      }
    }
    return out;
  }

  /**
   * Records the unlock and adopts the keys; first brings the header up to date in the same transaction:
   * stronger PBKDF2 parameters when configured (needs the passphrase), and the format-2 migration.
   * Takes ownership of `keyring` and `kek` (zeroed on failure).
   */
  private async finish(actor: VaultActor, header: VaultHeaderRow, kdf: StoredKdf, keyring: Keyring, kek: Buffer, passphrase: string | undefined, why: string | null): Promise<VaultStatus> {
    const { core } = this;
    const op = "unlock";
    if (core.unlocked) {
      keyring.destroy();
      kek.fill(0);
      await core.audit.record(core.audit.draft(actor, op, null, "allowed", "already unlocked"));
      return core.status();
    }
    let nextKdf = kdf;
    let nextKek = kek;
    let wrapped = header.keyring;
    try {
      const configured = core.deps.config.pbkdf2Iterations;
      const upgradeKdf = kdf.name === "pbkdf2-sha256" && passphrase !== undefined && kdf.iterations < configured;
      const migrate = header.format !== VAULT_FORMAT;
      if (upgradeKdf) {
        // Stronger parameters are configured than the header's: re-wrap now, while we hold the passphrase.
        nextKdf = newPbkdf2Params(configured);
        nextKek = await derivePassphraseKek(passphrase, nextKdf);
      }
      if (upgradeKdf || migrate) {
        const reasons = [...(why ? [why] : []), ...(upgradeKdf ? [`kdf upgraded to ${configured} iterations`] : [])];
        wrapped = await core.audit.write(
          actor,
          op,
          null,
          (tx) => {
            // Only over the header that was opened: another instance may have rotated or re-keyed since.
            if (!tx.getHeader()?.keyring.equals(header.keyring)) throw new StaleKeys();
            if (migrate) reasons.push(`migrated to format ${VAULT_FORMAT} (${migrateSecretHeads(tx, keyring)} secrets)`);
            const next = sealHeader(nextKdf, nextKek, keyring, header.createdAt, core.iso());
            tx.putHeader(next);
            return { reason: reasons.join("; "), value: next.keyring };
          },
          migrate ? { allSecrets: true } : undefined,
        );
        if (migrate) core.deps.logger.info({ format: VAULT_FORMAT }, "vault: header and secret metadata migrated to the authenticated format");
      } else {
        await core.audit.record(core.audit.draft(actor, op, null, "allowed", why));
      }
    } catch (error) {
      keyring.destroy();
      kek.fill(0);
      if (nextKek !== kek) nextKek.fill(0);
      throw error;
    }
    if (nextKek !== kek) kek.fill(0);
    core.adopt(keyring, nextKek, await core.deps.store.keyUsage(), wrapped);
    core.deps.logger.info("vault unlocked");
    if (wrapped !== header.keyring) core.headerChanged();
    return core.status();
  }
}
