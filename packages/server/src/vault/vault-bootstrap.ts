/**
 * @module vault/vault-bootstrap
 * What the server does with the vault at start, in one place:
 * - no vault yet and no passphrase configured → initialise the development default (random key in
 *   `<data-dir>/vault.key`, 0600) and unlock from it, with a clear warning and how to move to a passphrase;
 * - no vault yet and a passphrase (KAI_VAULT_PASSPHRASE) → initialise with it (unlocked);
 * - a key-file vault → unlock from the key file;
 * - a passphrase vault with a passphrase given → unlock with it; without → stay locked (`kai vault unlock`).
 * Never throws for a wrong passphrase: the server still starts, with the vault locked, and says why.
 */
import type { VaultStatus } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import { ApiError } from "../errors.js";
import { SERVER_ACTOR, type VaultService } from "./vault-service.js";

export async function bootstrapVault(vault: VaultService, options: { passphrase?: string; logger: Logger }): Promise<VaultStatus> {
  const { passphrase, logger } = options;
  let status = await vault.status();
  try {
    if (!status.initialized) {
      status = await vault.init(passphrase, SERVER_ACTOR);
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
      logger.warn("vault: unlocked from <data-dir>/vault.key (development default); move to a passphrase with `kai vault rekey`");
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
