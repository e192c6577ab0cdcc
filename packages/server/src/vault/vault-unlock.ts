/**
 * @module vault/vault-unlock
 * Bringing the keys into memory: `unlock` with the passphrase (behind the wrong-passphrase backoff, and
 * upgrading the header's PBKDF2 parameters when stronger ones are configured, while the passphrase is at
 * hand) and `unlockFromKeyFile` for a development-default vault (`<data-dir>/vault.key`, or the `.new` file
 * of a rekey interrupted after its header committed, which is then finished). Both hold the exclusive lock;
 * a key that was read but not adopted is zeroed on every path.
 */
import { renameSync } from "node:fs";
import type { VaultStatus } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { VaultActor } from "./vault.js";
import { derivePassphraseKek, newPbkdf2Params } from "./crypto/kdf.js";
import { Keyring } from "./keyring.js";
import { pendingVaultKeyPath, readUnsealKeys, vaultKeyPath } from "./key-files.js";
import type { VaultCore } from "./vault-core.js";
import { invalidPassphrase } from "./vault-errors.js";

export class VaultUnlock {
  constructor(private readonly core: VaultCore) {}

  unlock(passphrase: string, actor: VaultActor): Promise<VaultStatus> {
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
      let kek: Buffer | null = null;
      let keyring: Keyring | null = null;
      if (kdf.name === "pbkdf2-sha256") {
        kek = await derivePassphraseKek(passphrase, kdf);
        try {
          keyring = Keyring.unwrap(header.keyring, kek);
        } catch {
          kek.fill(0);
          kek = null;
        }
      }
      // A key-file vault answers a passphrase exactly like a wrong one: nothing more is said.
      if (!kek || !keyring) {
        core.backoff.failed();
        return core.audit.refuse(actor, op, null, "failed", "invalid_passphrase", invalidPassphrase());
      }
      core.backoff.succeeded();
      if (core.unlocked) {
        keyring.destroy();
        kek.fill(0);
        await core.audit.record(core.audit.draft(actor, op, null, "allowed", "already unlocked"));
        return core.status();
      }
      try {
        const configured = core.deps.config.pbkdf2Iterations;
        if (kdf.name === "pbkdf2-sha256" && kdf.iterations < configured) {
          // Stronger parameters are configured than the header's: re-wrap now, while we hold the passphrase.
          const upgraded = newPbkdf2Params(configured);
          const newKek = await derivePassphraseKek(passphrase, upgraded);
          const wrapped = keyring.wrap(newKek);
          await core.audit.write(actor, op, null, (tx) => {
            tx.putHeader({ ...header, kdf: JSON.stringify(upgraded), keyring: wrapped, updatedAt: core.iso() });
            return { reason: `kdf upgraded to ${configured} iterations`, value: undefined };
          });
          kek.fill(0);
          kek = newKek;
        } else {
          await core.audit.record(core.audit.draft(actor, op, null, "allowed", null));
        }
      } catch (error) {
        keyring.destroy();
        kek.fill(0);
        throw error;
      }
      core.adopt(keyring, kek, await core.deps.store.keyUsage());
      core.deps.logger.info("vault unlocked");
      return core.status();
    });
  }

  unlockFromKeyFile(actor: VaultActor): Promise<VaultStatus> {
    const { core } = this;
    return core.lockState.exclusive(async () => {
      const op = "unlock";
      await core.authorize(actor, op, null, ["vault:admin"]);
      const header = await core.requireHeader(actor, op, null);
      const kdf = await core.requireKdf(actor, op, header);
      if (kdf.name !== "key-file") {
        return core.audit.refuse(actor, op, null, "failed", "passphrase vault", new ApiError("vault_locked", "this vault is protected by a passphrase"));
      }
      if (core.unlocked) {
        await core.audit.record(core.audit.draft(actor, op, null, "allowed", "already unlocked"));
        return core.status();
      }
      // Try each candidate key file; the first that opens the keyring is kept, every other one is zeroed.
      let opened: { keyring: Keyring; kek: Buffer; path: string } | null = null;
      for (const candidate of readUnsealKeys(core.deps.dataDir)) {
        if (opened) {
          candidate.key.fill(0);
          continue;
        }
        try {
          opened = { keyring: Keyring.unwrap(header.keyring, candidate.key), kek: candidate.key, path: candidate.path };
        } catch {
          candidate.key.fill(0);
        }
      }
      if (!opened) return core.audit.refuse(actor, op, null, "failed", "key file does not open the vault", new ApiError("vault_locked", "vault.key does not open this vault"));
      try {
        await core.audit.record(core.audit.draft(actor, op, null, "allowed", "key file"));
      } catch (error) {
        opened.keyring.destroy();
        opened.kek.fill(0);
        throw error;
      }
      // A rekey to a new key file was interrupted after its header committed: finish it.
      if (opened.path === pendingVaultKeyPath(core.deps.dataDir)) renameSync(opened.path, vaultKeyPath(core.deps.dataDir));
      core.adopt(opened.keyring, opened.kek, await core.deps.store.keyUsage());
      return core.status();
    });
  }
}
