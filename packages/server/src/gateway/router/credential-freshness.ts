/**
 * @module gateway/router/credential-freshness
 * Keeps the gateway's cached credentials (credentials.ts) in step with the vault: a secret put, replaced or deleted
 * on this instance, and on another instance of the node (the `vault_secret_changed` signal, cluster/share-signals.ts),
 * is forgotten at once, so a rotated provider key is used from the next request on, and a leaked one stops being sent
 * the moment it is replaced, not up to `credentialCacheMs` later. Locking the vault forgets every credential: a locked
 * vault hands out nothing, cached or not.
 */
import type { VaultService } from "../../vault/vault-service.js";

/** The router's side: drop one cached reference (`vault:<name>`), or all. */
export interface ForgetsCredentials {
  forgetCredentials(credentialRef?: string): void;
}

/** The `credentialRef` of a vault secret, as service records name it. */
export function vaultCredentialRef(name: string): string {
  return `vault:${name}`;
}

/** Wires this instance's vault to `router`; returns the undo. */
export function forgetCredentialsOnVaultChanges(vault: Pick<VaultService, "onSecretChanged" | "onLockChange">, router: ForgetsCredentials): () => void {
  const offSecret = vault.onSecretChanged((name) => router.forgetCredentials(vaultCredentialRef(name)));
  const offLock = vault.onLockChange((unlocked) => {
    if (!unlocked) router.forgetCredentials();
  });
  return () => {
    offSecret();
    offLock();
  };
}
