/**
 * @module vault/vault-service
 * The credential vault: `createVault(deps)` implements the `Vault` contract (vault.ts) over a `VaultStore`,
 * as a facade that hands each operation to the part that does it (one job per module):
 * - vault-core.ts: key state while unlocked, the readers–writer lock, the audit writer, the guards;
 * - vault-lifecycle.ts (init, lock, rekey), vault-unlock.ts (unlock, unlock from the key file),
 *   vault-rotation.ts (rotate, automatic rotation, encryption counts);
 * - vault-secrets.ts (put/get/list/delete, service credentials), vault-transit.ts (encrypt/decrypt/rewrap),
 *   vault-audit.ts (read and verify the audit log).
 *
 * Key hierarchy (docs/decisions/0004-vault-cryptography.md): a key-encryption key (KEK) from the passphrase
 * (PBKDF2-HMAC-SHA256) or from `<data-dir>/vault.key` wraps the keyring of versioned data keys; data keys
 * encrypt secrets and transit data with AES-256-GCM. The KEK and the keyring live in memory only while
 * unlocked, as zeroable Buffers.
 *
 * Every operation authorises the actor itself and appends an audit entry (allowed, denied or failed). Where
 * the operation writes, the entry is written in the SAME transaction; where it only reads, the entry is
 * written before the result is released. If the entry cannot be written, the operation fails (fail closed).
 * The one deliberate exception: `lock` drops the keys first and then reports the audit failure, because
 * refusing to lock would be the less safe outcome.
 *
 * Concurrency: secret and transit operations hold a shared lock, key-changing operations (unlock, lock,
 * rekey, rotate) an exclusive one, so no operation sees a keyring being replaced or zeroed.
 *
 * Several instances on one store (PostgreSQL): each instance has its own VaultService over the shared store.
 * Secrets are never cached (every read goes to the store); the store serialises every instance's transactions
 * (one audit chain, counters that add up); an operation that finds its keys outdated is re-run after a reload
 * (vault-reload.ts: `reloadFromStore`, also called by the cluster layer on another instance's `vault_changed`);
 * `onHeaderChanged` tells the cluster layer when THIS instance committed a header change, so it can signal the
 * others. Every instance must write the audit chain with the same `audit.key`: the store records its check
 * value, and an instance with another key refuses every vault operation (fail closed) instead of forking it.
 */
import { existsSync } from "node:fs";
import type { AuditEntry, PutSecretRequest, SecretInfo, SecretValueResponse, VaultStatus } from "@kai/protocol";
import type { AuditQuery, Vault, VaultActor } from "./vault.js";
import { AuditKeys } from "./audit-chain.js";
import { loadOrCreateAuditKey, tooOpen, vaultKeyPath } from "./key-files.js";
import { headerProblem } from "./vault-header.js";
import { VaultCore, type VaultDeps } from "./vault-core.js";
import { VaultLifecycle } from "./vault-lifecycle.js";
import { VaultUnlock } from "./vault-unlock.js";
import { VaultRotation } from "./vault-rotation.js";
import { VaultSecrets } from "./vault-secrets.js";
import { VaultTransit } from "./vault-transit.js";
import { VaultAudit } from "./vault-audit.js";
import { VaultReload } from "./vault-reload.js";

// Importers use vault-service.ts as the vault's one entry point; these live beside the part that uses them.
export { SERVER_ACTOR, SYSTEM_SECRET_PREFIX, type VaultDeps } from "./vault-core.js";
export { VAULT_FORMAT } from "./vault-header.js";
export { serviceCredentialName } from "./vault-secrets.js";

/** The vault plus what the server itself needs at start. */
export interface VaultService extends Vault {
  /** Unlocks a development-default vault from `<data-dir>/vault.key` (call at start when status().autoUnlock). */
  unlockFromKeyFile(actor: VaultActor): Promise<VaultStatus>;
  /** Tells `listener` each time the vault is unlocked (true) or locked (false); returns its remover. */
  onLockChange(listener: (unlocked: boolean) => void): () => void;
  /**
   * Tells `listener` each time THIS instance committed a new vault header (init, rotation, passphrase change,
   * the header upgrade at unlock), so the cluster layer can tell the other instances; returns its remover.
   */
  onHeaderChanged(listener: () => void): () => void;
  /**
   * Tells `listener` the name of each secret whose value THIS instance changed (put, delete, a registration's
   * credential), once committed, so that what caches a value (the gateway's credentials) can drop it at once and the
   * cluster layer can tell the other instances; returns its remover. Never the value.
   */
  onSecretChanged(listener: (name: string) => void): () => void;
  /**
   * Re-reads the header from the store and, if this instance is unlocked and the header changed (another
   * instance rotated or re-keyed), re-opens the keyring with the key it holds; if that key no longer opens
   * it, locks this instance and logs why. Call it when another instance signals a vault change.
   */
  reloadFromStore(): Promise<void>;
  /** True while the keys are in memory. */
  readonly isUnlocked: boolean;
  /** True when several instances share the store (the key-file default is then refused: vault-bootstrap.ts). */
  readonly shared: boolean;
}

export async function createVault(deps: VaultDeps): Promise<VaultService> {
  const keyDir = deps.keyDir ?? deps.dataDir;
  const { key, created } = loadOrCreateAuditKey(keyDir);
  const auditKeys = new AuditKeys(key);
  key.fill(0);
  const core = new VaultCore(deps, auditKeys);
  const recorded = await deps.store.claimAuditKey(auditKeys.check);
  if (recorded !== auditKeys.check) {
    const why =
      "this instance's audit.key is not the one the shared audit log is written with; give every instance the same audit.key " +
      "(copy it from an instance that works, or point every instance's key directory at one shared file)";
    deps.logger.error(`vault: ${why}; every vault operation on this instance is refused until then`);
    core.audit.block(why);
  } else if (created && (await deps.store.auditHead()) !== null) {
    deps.logger.warn("vault: audit.key was missing and a new one was made; entries written before cannot be verified any more");
  }
  if (tooOpen(vaultKeyPath(keyDir))) deps.logger.warn("vault: vault.key is readable by other users; run chmod 600 on it");
  const header = await deps.store.getHeader();
  const problem = header ? headerProblem(header, existsSync(vaultKeyPath(keyDir))) : null;
  if (problem) deps.logger.error(`vault: ${problem}`);
  return new VaultFacade(core);
}

/** Delegation only: no operation is decided here. Operations that use keys run through `fresh` (vault-reload.ts). */
class VaultFacade implements VaultService {
  private readonly lifecycle: VaultLifecycle;
  private readonly unlocking: VaultUnlock;
  private readonly rotation: VaultRotation;
  private readonly secrets: VaultSecrets;
  private readonly transit: VaultTransit;
  private readonly audit: VaultAudit;
  private readonly reload: VaultReload;

  constructor(private readonly core: VaultCore) {
    this.reload = new VaultReload(core);
    this.lifecycle = new VaultLifecycle(core);
    this.unlocking = new VaultUnlock(core);
    this.rotation = new VaultRotation(core, () => this.reload.reloadFromStore());
    this.secrets = new VaultSecrets(core, this.rotation);
    this.transit = new VaultTransit(core, this.rotation);
    this.audit = new VaultAudit(core);
  }

  get isUnlocked(): boolean {
    return this.core.isUnlocked;
  }

  get shared(): boolean {
    return this.core.deps.store.shared;
  }

  status(): Promise<VaultStatus> {
    return this.core.status();
  }

  onLockChange(listener: (unlocked: boolean) => void): () => void {
    return this.core.onLockChange(listener);
  }

  onHeaderChanged(listener: () => void): () => void {
    return this.core.onHeaderChanged(listener);
  }

  onSecretChanged(listener: (name: string) => void): () => void {
    return this.core.onSecretChanged(listener);
  }

  reloadFromStore(): Promise<void> {
    return this.reload.reloadFromStore();
  }

  close(): Promise<void> {
    return this.core.close();
  }

  init(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    return this.lifecycle.init(passphrase, actor);
  }

  lock(actor: VaultActor): Promise<VaultStatus> {
    return this.lifecycle.lock(actor);
  }

  rekey(newPassphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    return this.reload.fresh(() => this.lifecycle.rekey(newPassphrase, actor));
  }

  unlock(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    return this.reload.fresh(() => this.unlocking.unlock(passphrase, actor));
  }

  unlockFromKeyFile(actor: VaultActor): Promise<VaultStatus> {
    return this.reload.fresh(() => this.unlocking.unlockFromKeyFile(actor));
  }

  rotate(actor: VaultActor): Promise<{ keyVersion: number; reencrypted: number; retiredVersions: number[]; skipped: string[] }> {
    return this.reload.fresh(() => this.rotation.rotate(actor));
  }

  putSecret(name: string, request: PutSecretRequest, actor: VaultActor): Promise<SecretInfo> {
    return this.reload.fresh(() => this.secrets.putSecret(name, request, actor));
  }

  getSecret(name: string, actor: VaultActor): Promise<SecretValueResponse> {
    return this.reload.fresh(() => this.secrets.getSecret(name, actor));
  }

  listSecrets(actor: VaultActor): Promise<SecretInfo[]> {
    return this.secrets.listSecrets(actor);
  }

  deleteSecret(name: string, actor: VaultActor): Promise<void> {
    return this.reload.fresh(() => this.secrets.deleteSecret(name, actor));
  }

  storeServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string> {
    return this.reload.fresh(() => this.secrets.storeServiceCredential(serviceId, value, actor));
  }

  checkServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string> {
    return this.reload.fresh(() => this.secrets.checkServiceCredential(serviceId, value, actor));
  }

  encrypt(plaintext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }> {
    return this.reload.fresh(() => this.transit.encrypt(plaintext, associatedData, actor));
  }

  decrypt(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ plaintext: string }> {
    return this.reload.fresh(() => this.transit.decrypt(ciphertext, associatedData, actor));
  }

  rewrap(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }> {
    return this.reload.fresh(() => this.transit.rewrap(ciphertext, associatedData, actor));
  }

  auditEntries(query: AuditQuery, actor: VaultActor): Promise<AuditEntry[]> {
    return this.audit.auditEntries(query, actor);
  }

  verifyAudit(actor: VaultActor): Promise<{ ok: boolean; entries: number; brokenAt: number | null }> {
    return this.audit.verifyAudit(actor);
  }
}
