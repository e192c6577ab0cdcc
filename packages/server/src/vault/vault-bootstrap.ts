/**
 * @module vault/vault-bootstrap
 * What the server does with the vault at start, in one place:
 * - no vault yet and no passphrase configured → initialise the development default (random key in
 *   `<data-dir>/vault.key`, 0600) and unlock from it, with a clear warning and how to move to a passphrase;
 * - no vault yet and a passphrase (KAI_VAULT_PASSPHRASE) → initialise with it (unlocked);
 * - a key-file vault → unlock from the key file;
 * - a passphrase vault with a passphrase given → unlock with it; without → stay locked (`kai vault unlock`).
 * Never throws for a wrong passphrase: the server still starts, with the vault locked, and says why.
 *
 * Several instances on one database (a shared store):
 * - two instances starting at once on an empty database with the same passphrase both try to initialise;
 *   the store serialises them, exactly one succeeds and the other, refused as already initialised, unlocks
 *   with the same passphrase instead;
 * - the development default is NOT used: each instance has its own data directory, so a key file made by one
 *   would lock every other out (and two starting at once would each make their own). Without a passphrase
 *   the vault stays uninitialised, and the log says to start every instance with the same KAI_VAULT_PASSPHRASE.
 *   A key-file vault copied from a single node still unlocks where its vault.key is present, with a warning.
 */
import type { VaultStatus } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import { ApiError } from "../errors.js";
import { SERVER_ACTOR, type VaultService } from "./vault-service.js";

export async function bootstrapVault(vault: VaultService, options: { passphrase?: string; logger: Logger }): Promise<VaultStatus> {
  const { passphrase, logger } = options;
  let status = await vault.status();
  try {
    if (!status.initialized && passphrase === undefined && vault.shared) {
      logger.error(
        "vault: not initialised, and instances sharing a database cannot use the development default (a key file in each one's data dir); " +
          "start every instance with the same KAI_VAULT_PASSPHRASE. The vault stays uninitialised until then",
      );
      return status;
    }
    if (!status.initialized) {
      try {
        status = await vault.init(passphrase, SERVER_ACTOR);
      } catch (error) {
        // Another instance sharing the database initialised it first: unlock it like any existing vault.
        if (!(error instanceof ApiError) || error.code !== "conflict" || passphrase === undefined) throw error;
        logger.info("vault: initialised by another instance a moment ago; unlocking it");
        return await vault.unlock(passphrase, SERVER_ACTOR);
      }
      if (passphrase === undefined) {
        logger.warn(
          "vault: DEVELOPMENT DEFAULT - initialised with a random unseal key in <data-dir>/vault.key and unlocked automatically. " +
            "Anyone who can read that file can read every secret. Move to a passphrase with `kai vault rekey` and start with KAI_VAULT_PASSPHRASE.",
        );
      }
      return status;
    }
    if (status.autoUnlock) {
      status = await vault.unlockFromKeyFile(SERVER_ACTOR);
      logger.warn(
        vault.shared
          ? "vault: unlocked from vault.key (development default), which every instance sharing this database needs a copy of; move to a passphrase with `kai vault rekey` and start every instance with KAI_VAULT_PASSPHRASE"
          : "vault: unlocked from <data-dir>/vault.key (development default); move to a passphrase with `kai vault rekey`",
      );
      return status;
    }
    if (passphrase !== undefined) return await vault.unlock(passphrase, SERVER_ACTOR);
    logger.info("vault: locked; unlock it with `kai vault unlock` or start with KAI_VAULT_PASSPHRASE");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    logger.error({ code: error.code }, `vault: stays locked at start (${error.message})`);
  }
  return vault.status();
}
