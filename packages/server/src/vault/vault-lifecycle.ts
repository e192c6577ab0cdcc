/**
 * @module vault/vault-lifecycle
 * Setting the vault up and changing how it is protected: `init` (first-time setup, with a passphrase or the
 * development-default key file), `lock` (zero the keys) and `rekey` (a new passphrase or back to the key
 * file: the keyring is re-wrapped under a new KEK, secrets are untouched). Unlocking is vault-unlock.ts.
 * Every operation here holds the exclusive lock.
 *
 * Key files change crash-safely: a new `vault.key` is written (as `.new` for rekey) before the header that
 * needs it commits, and renamed or removed only after; vault-unlock.ts finishes an interrupted rekey.
 *
 * Several instances on one store (`store.shared`): the key-file default is refused (each instance has a
 * data directory of its own, so a key file written by one would lock every other out, and two instances
 * initialising at once would each write their own); a passphrase is required. A header change committed here
 * is announced (`core.headerChanged`) so the other instances reload; a rekey on keys another instance has
 * already replaced is `StaleKeys` (reloaded and retried), never a header written over theirs.
 */
import { randomBytes } from "node:crypto";
import { renameSync } from "node:fs";
import type { VaultStatus } from "@kai/protocol";
import type { VaultHeaderRow } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import { KEY_BYTES } from "./crypto/aead.js";
import { derivePassphraseKek, newPbkdf2Params, type StoredKdf } from "./crypto/kdf.js";
import { Keyring } from "./keyring.js";
import { KeyMaterial } from "./redacted.js";
import { pendingVaultKeyPath, readUnsealKeys, removeKeyFile, vaultKeyPath, writeKeyFile } from "./key-files.js";
import type { VaultCore } from "./vault-core.js";
import { sealHeader } from "./vault-header.js";
import { alreadyInitialized, notInitialized, passphraseNeeded, Refusal, validation } from "./vault-errors.js";

const MIN_PASSPHRASE = 12;

export class VaultLifecycle {
  constructor(private readonly core: VaultCore) {}

  init(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    const { core } = this;
    return core.lockState.exclusive(async () => {
      const op = "init";
      await core.authorize(actor, op, null, ["vault:admin"]);
      if (passphrase !== undefined && passphrase.length < MIN_PASSPHRASE) {
        await core.audit.refuse(actor, op, null, "failed", "validation_failed", validation("passphrase", `use at least ${MIN_PASSPHRASE} characters`));
      }
      if (passphrase === undefined && core.deps.store.shared) {
        await core.audit.refuse(actor, op, null, "failed", "validation_failed", passphraseNeeded("passphrase"));
      }
      if (await core.deps.store.getHeader()) {
        await core.audit.refuse(actor, op, null, "failed", "already initialized", alreadyInitialized());
      }
      const kdf: StoredKdf = passphrase === undefined ? { name: "key-file" } : newPbkdf2Params(core.deps.config.pbkdf2Iterations);
      const kek = kdf.name === "pbkdf2-sha256" ? await derivePassphraseKek(passphrase!, kdf) : randomBytes(KEY_BYTES);
      const keyring = Keyring.create(core.now());
      let wrapped: Buffer;
      try {
        if (kdf.name === "key-file") {
          if (readUnsealKeys(core.keyDir).length > 0) core.deps.logger.warn("vault: replacing a vault.key that belonged to no vault");
          writeKeyFile(vaultKeyPath(core.keyDir), kek);
        }
        const at = core.iso();
        const header: VaultHeaderRow = sealHeader(kdf, kek, keyring, at, at);
        wrapped = header.keyring;
        await core.audit.write(actor, op, null, (tx) => {
          // Checked again inside the transaction: the header is the one thing two inits could race on.
          if (tx.getHeader()) throw new Refusal(alreadyInitialized(), "failed", "already initialized");
          tx.putHeader(header);
          tx.addKeyUsage(1, 0);
          return { reason: kdf.name === "key-file" ? "development default (key file)" : "passphrase", value: undefined };
        });
      } catch (error) {
        keyring.destroy();
        kek.fill(0);
        throw error;
      }
      if (kdf.name === "pbkdf2-sha256") removeKeyFile(vaultKeyPath(core.keyDir));
      core.adopt(keyring, kek, new Map([[1, 0]]), wrapped);
      core.backoff.succeeded();
      core.deps.logger.info({ kdf: kdf.name }, "vault initialised");
      core.headerChanged();
      return core.status();
    });
  }

  lock(actor: VaultActor): Promise<VaultStatus> {
    const { core } = this;
    return core.lockState.exclusive(async () => {
      const op = "lock";
      await core.authorize(actor, op, null, ["vault:admin"]);
      await core.requireHeader(actor, op, null);
      const was = core.unlocked !== null;
      // Keys go first, the audit entry after: refusing to lock because the log failed would be less safe.
      core.drop();
      await core.audit.record(core.audit.draft(actor, op, null, "allowed", was ? null : "already locked"));
      core.deps.logger.info("vault locked");
      return core.status();
    });
  }

  rekey(newPassphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    const { core } = this;
    return core.lockState.exclusive(async () => {
      const op = "rekey";
      await core.authorize(actor, op, null, ["vault:admin"]);
      const state = await core.requireUnlocked(actor, op, null);
      if (newPassphrase !== undefined && newPassphrase.length < MIN_PASSPHRASE) {
        await core.audit.refuse(actor, op, null, "failed", "validation_failed", validation("newPassphrase", `use at least ${MIN_PASSPHRASE} characters`));
      }
      if (newPassphrase === undefined && core.deps.store.shared) {
        await core.audit.refuse(actor, op, null, "failed", "validation_failed", passphraseNeeded("newPassphrase"));
      }
      const kdf: StoredKdf = newPassphrase === undefined ? { name: "key-file" } : newPbkdf2Params(core.deps.config.pbkdf2Iterations);
      const kek = kdf.name === "pbkdf2-sha256" ? await derivePassphraseKek(newPassphrase!, kdf) : randomBytes(KEY_BYTES);
      const pending = pendingVaultKeyPath(core.keyDir);
      let written: VaultHeaderRow;
      try {
        // The new key file exists (as .new) before the header that needs it commits: a crash loses nothing.
        if (kdf.name === "key-file") writeKeyFile(pending, kek);
        const at = core.iso();
        written = await core.audit.write(actor, op, null, (tx) => {
          if (!tx.getHeader()) throw new Refusal(notInitialized(), "failed", "vault_not_initialized");
          // Our keyring must still be the stored one: re-wrapping an outdated one would undo another instance's rotation.
          const header = core.checkFreshIn(tx, state);
          const next = sealHeader(kdf, kek, state.keyring, header.createdAt, at);
          tx.putHeader(next);
          return { reason: kdf.name === "key-file" ? "to key file" : "to passphrase", value: next };
        });
      } catch (error) {
        kek.fill(0);
        removeKeyFile(pending);
        throw error;
      }
      if (kdf.name === "key-file") renameSync(pending, vaultKeyPath(core.keyDir));
      else removeKeyFile(vaultKeyPath(core.keyDir));
      state.kek.destroy();
      state.kek = new KeyMaterial(kek);
      state.wrapped = Buffer.from(written.keyring);
      core.deps.logger.info({ kdf: kdf.name }, "vault rekeyed");
      core.headerChanged();
      return core.status();
    });
  }
}
