/**
 * @module vault/vault-reload
 * Keeping one instance's keys in step with a store that several instances share. Another instance may rotate
 * the data key or change the passphrase at any time; this instance then still holds the old keyring.
 *
 * - `reloadFromStore()` re-reads the header and, when this instance is unlocked and the header changed,
 *   re-opens the keyring with the key-encryption key it holds. The cluster layer calls it when another
 *   instance signals `vault_changed`; the vault calls it itself when an operation finds its keys outdated.
 *   When the held KEK no longer opens the header (the passphrase was changed elsewhere, or the header was
 *   altered) the instance locks itself and logs why: it never keeps serving with keys the store disowned.
 * - `fresh(run)` runs an operation and, if it stopped with `StaleKeys` (vault-core.ts: before it used a key
 *   or inside its transaction, so nothing was written or audited), reloads and runs it again.
 *
 * Why this is enough for correctness, not only for speed: an instance that has not reloaded yet cannot commit
 * anything under an outdated keyring (every encrypting transaction checks the stored header under the store's
 * lock), and a read of a secret under a key version it does not hold is retried after a reload instead of
 * being reported as tampering. A reload only makes the retry unnecessary.
 */
import { parseStoredKdf } from "./crypto/kdf.js";
import { ApiError } from "../errors.js";
import type { VaultCore } from "./vault-core.js";
import { LEGACY_FORMAT, openHeader, VAULT_FORMAT } from "./vault-header.js";
import { StaleKeys } from "./vault-errors.js";

/** Attempts of one operation while other instances keep changing the header under it. */
const ATTEMPTS = 3;

export class VaultReload {
  constructor(private readonly core: VaultCore) {}

  reloadFromStore(): Promise<void> {
    return this.core.lockState.exclusive(() => this.reloadExclusive());
  }

  async fresh<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (!(error instanceof StaleKeys)) throw error;
        if (attempt >= ATTEMPTS) throw new ApiError("unavailable", "the vault's keys kept changing on other instances during the operation; retry");
        await this.reloadFromStore();
      }
    }
  }

  /** Call with the exclusive lock held. */
  private async reloadExclusive(): Promise<void> {
    const { core } = this;
    const { logger } = core.deps;
    const keys = core.unlocked;
    if (!keys) return;
    const header = await core.deps.store.getHeader();
    if (!header) {
      core.drop();
      logger.error("vault: the vault header is gone from the database; this instance locked itself");
      return;
    }
    if (header.keyring.equals(keys.wrapped)) {
      keys.usage = await core.deps.store.keyUsage();
      return;
    }
    const kdf = parseStoredKdf(header.kdf);
    if (!kdf || (header.format !== VAULT_FORMAT && header.format !== LEGACY_FORMAT)) {
      core.drop();
      logger.error("vault: the vault header in the database has a format or KDF this server does not know; this instance locked itself");
      return;
    }
    // A copy: adopt() takes ownership of the KEK it is given and zeroes the one held now.
    const kek = Buffer.from(keys.kek.bytes);
    const opened = openHeader(header, kdf, kek);
    if ("failure" in opened) {
      kek.fill(0);
      core.drop();
      if (opened.failure === "wrong-key") {
        logger.warn(
          "vault: the vault's passphrase (or key file) was changed on another instance, so the keys this instance holds no longer open it; " +
            "it locked itself: unlock it with the new passphrase (`kai vault unlock`) or restart it with the new KAI_VAULT_PASSPHRASE",
        );
      } else {
        logger.error(`vault: tampering detected: ${opened.what}; this instance locked itself`);
      }
      return;
    }
    core.adopt(opened.keyring, kek, await core.deps.store.keyUsage(), header.keyring);
    logger.info({ keyVersion: opened.keyring.active.version }, "vault: keys reloaded (the header was changed on another instance)");
  }
}
