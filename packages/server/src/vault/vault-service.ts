/**
 * @module vault/vault-service
 * The credential vault: `createVault(deps)` implements the `Vault` contract (vault.ts) over a `VaultStore`.
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
 */
import { randomBytes } from "node:crypto";
import { renameSync } from "node:fs";
import {
  EncryptRequestSchema,
  PutSecretRequestSchema,
  SecretNameSchema,
  type AuditEntry,
  type PutSecretRequest,
  type Scope,
  type SecretInfo,
  type SecretValueResponse,
  type VaultStatus,
} from "@kai/protocol";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { ApiError } from "../errors.js";
import { hasAnyScope } from "../auth/principal.js";
import type { ListedSecret, SecretMetaRow, StoredAuditEntry, VaultHeaderRow, VaultStore, VaultTx } from "../storage/vault-store.js";
import type { AuditQuery, Vault, VaultActor } from "./vault.js";
import { DecryptionError, KEY_BYTES } from "./crypto/aead.js";
import { derivePassphraseKek, newPbkdf2Params, parseStoredKdf, publicKdf, type StoredKdf } from "./crypto/kdf.js";
import { decryptSecret, encryptSecret } from "./crypto/secret-format.js";
import { decryptTransit, encryptTransit } from "./crypto/transit-format.js";
import { AuditKeys, verifyChain, type AuditDraft } from "./audit-chain.js";
import { Keyring } from "./keyring.js";
import { KeyMaterial } from "./redacted.js";
import { nameAllowed } from "./secret-patterns.js";
import { UnlockBackoff } from "./unlock-backoff.js";
import { RwLock } from "./rw-lock.js";
import {
  loadOrCreateAuditKey,
  pendingVaultKeyPath,
  readUnsealKeys,
  removeKeyFile,
  tooOpen,
  vaultKeyPath,
  writeKeyFile,
} from "./key-files.js";
export interface VaultDeps {
  store: VaultStore;
  dataDir: string;
  config: Config["vault"];
  logger: Logger;
  now?: () => number;
  /** Retired data-key versions kept for transit decrypt/rewrap after a rotation (default 2). */
  keepRetiredKeys?: number;
  /** Test hook: called with the keyring each time one is loaded into memory. */
  onKeyringLoaded?: (keyring: Keyring) => void;
}

/** The vault plus what the server itself needs at start. */
export interface VaultService extends Vault {
  /** Unlocks a development-default vault from `<data-dir>/vault.key` (call at start when status().autoUnlock). */
  unlockFromKeyFile(actor: VaultActor): Promise<VaultStatus>;
  /** Tells `listener` each time the vault is unlocked (true) or locked (false); returns its remover. */
  onLockChange(listener: (unlocked: boolean) => void): () => void;
  /** True while the keys are in memory. */
  readonly isUnlocked: boolean;
}

/**
 * Names of the server's own secrets (the node key). `#` is not allowed in API secret names, so no token can
 * read, write, delete or list them, whatever its scopes; only the server actor addresses them.
 */
export const SYSTEM_SECRET_PREFIX = "#system/";

/** The server acting on its own behalf (auto-unlock at start, automatic rotation). */
export const SERVER_ACTOR: VaultActor = { tokenId: null, owner: "kai-server", scopes: ["admin"] };

export const VAULT_FORMAT = 1;
const MIN_PASSPHRASE = 12;

interface Unlocked {
  keyring: Keyring;
  kek: KeyMaterial;
  /** Encryptions per data-key version (persisted with every encryption). */
  usage: Map<number, number>;
}

/** Thrown inside a transaction to abort it with an ApiError after recording why. */
class Refusal extends Error {
  constructor(
    readonly error: ApiError,
    readonly outcome: "denied" | "failed",
    readonly reason: string,
  ) {
    super(error.message);
  }
}

const lockedError = () => new ApiError("vault_locked", "the vault is locked; unlock it with `kai vault unlock`");
const notInitialized = () => new ApiError("vault_not_initialized", "the vault is not initialised; run `kai vault init`");
const invalidPassphrase = () => new ApiError("invalid_passphrase", "invalid passphrase");
const decryptionFailed = () => new ApiError("decryption_failed", "decryption failed");
const integrityError = () => new ApiError("internal", "a stored secret failed its integrity check");
const auditUnavailable = () => new ApiError("unavailable", "the vault audit log could not be written; the operation was not performed");
const validation = (path: string, message: string) => new ApiError("validation_failed", `invalid ${path}`, [{ path, message }]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `services/<id>/credential`, with the id's `_ : @` escaped (`_5F _3A _40`): secret names do not allow `:`/`@`. */
export function serviceCredentialName(serviceId: string): string {
  const segment = serviceId.replace(/[_:@]/g, (char) => `_${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `services/${segment}/credential`;
}

export async function createVault(deps: VaultDeps): Promise<VaultService> {
  const { key, created } = loadOrCreateAuditKey(deps.dataDir);
  const auditKeys = new AuditKeys(key);
  key.fill(0);
  if (created && (await deps.store.auditHead()) !== null) {
    deps.logger.warn("vault: audit.key was missing and a new one was made; entries written before cannot be verified any more");
  }
  if (tooOpen(vaultKeyPath(deps.dataDir))) deps.logger.warn("vault: vault.key is readable by other users; run chmod 600 on it");
  return new VaultImpl(deps, auditKeys);
}

class VaultImpl implements VaultService {
  private unlocked: Unlocked | null = null;
  private readonly lockListeners = new Set<(unlocked: boolean) => void>();
  private readonly lockState = new RwLock();
  private readonly backoff: UnlockBackoff;
  private readonly now: () => number;
  private readonly keepRetired: number;
  private rotating = false;
  private closed = false;

  constructor(
    private readonly deps: VaultDeps,
    private readonly audit: AuditKeys,
  ) {
    this.now = deps.now ?? Date.now;
    this.backoff = new UnlockBackoff(deps.config.freeUnlockAttempts, this.now);
    this.keepRetired = Math.max(0, deps.keepRetiredKeys ?? 2);
  }

  // ---- state ----

  async status(): Promise<VaultStatus> {
    const header = await this.deps.store.getHeader();
    const unlockBackoffSeconds = this.backoff.remainingSeconds();
    if (!header) {
      return { initialized: false, locked: true, autoUnlock: false, kdf: null, keyVersion: null, secrets: null, encryptionsUnderCurrentKey: null, unlockBackoffSeconds };
    }
    const kdf = parseStoredKdf(header.kdf);
    const usage = this.unlocked?.usage ?? (await this.deps.store.keyUsage());
    return {
      initialized: true,
      locked: this.unlocked === null,
      autoUnlock: kdf?.name === "key-file",
      kdf: kdf ? publicKdf(kdf) : null,
      keyVersion: header.activeVersion,
      secrets: await this.deps.store.countSecrets(),
      encryptionsUnderCurrentKey: usage.get(header.activeVersion) ?? 0,
      unlockBackoffSeconds,
    };
  }

  init(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    return this.lockState.exclusive(async () => {
      const op = "init";
      await this.authorize(actor, op, null, ["vault:admin"]);
      if (passphrase !== undefined && passphrase.length < MIN_PASSPHRASE) {
        await this.refuse(actor, op, null, "failed", "validation_failed", validation("passphrase", `use at least ${MIN_PASSPHRASE} characters`));
      }
      if (await this.deps.store.getHeader()) {
        await this.refuse(actor, op, null, "failed", "already initialized", new ApiError("conflict", "the vault is already initialised"));
      }
      const kdf: StoredKdf = passphrase === undefined ? { name: "key-file" } : newPbkdf2Params(this.deps.config.pbkdf2Iterations);
      const kek = kdf.name === "pbkdf2-sha256" ? await derivePassphraseKek(passphrase!, kdf) : randomBytes(KEY_BYTES);
      const keyring = Keyring.create(this.now());
      try {
        if (kdf.name === "key-file") {
          if (readUnsealKeys(this.deps.dataDir).length > 0) this.deps.logger.warn("vault: replacing a vault.key that belonged to no vault");
          writeKeyFile(vaultKeyPath(this.deps.dataDir), kek);
        }
        const at = this.iso();
        const header: VaultHeaderRow = { format: VAULT_FORMAT, kdf: JSON.stringify(kdf), keyring: keyring.wrap(kek), activeVersion: 1, createdAt: at, updatedAt: at };
        await this.write(actor, op, null, (tx) => {
          if (tx.getHeader()) throw new Refusal(new ApiError("conflict", "the vault is already initialised"), "failed", "already initialized");
          tx.putHeader(header);
          tx.setKeyUsage(1, 0);
          return { reason: kdf.name === "key-file" ? "development default (key file)" : "passphrase", value: undefined };
        });
      } catch (error) {
        keyring.destroy();
        kek.fill(0);
        throw error;
      }
      if (kdf.name === "pbkdf2-sha256") removeKeyFile(vaultKeyPath(this.deps.dataDir));
      this.adopt(keyring, kek, new Map([[1, 0]]));
      this.backoff.succeeded();
      this.deps.logger.info({ kdf: kdf.name }, "vault initialised");
      return this.status();
    });
  }

  unlock(passphrase: string, actor: VaultActor): Promise<VaultStatus> {
    return this.lockState.exclusive(async () => {
      const op = "unlock";
      await this.authorize(actor, op, null, ["vault:admin"]);
      const header = await this.requireHeader(actor, op, null);
      const wait = this.backoff.remainingSeconds();
      if (wait > 0) {
        await this.refuse(
          actor, op, null, "denied", "rate_limited",
          new ApiError("rate_limited", `too many wrong passphrases; retry in ${wait} s`, undefined, { "Retry-After": String(wait) }),
        );
      }
      const kdf = await this.requireKdf(actor, op, header);
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
      if (!kek || !keyring) {
        this.backoff.failed();
        return this.refuse(actor, op, null, "failed", "invalid_passphrase", invalidPassphrase());
      }
      this.backoff.succeeded();
      if (this.unlocked) {
        keyring.destroy();
        kek.fill(0);
        await this.record(this.draft(actor, op, null, "allowed", "already unlocked"));
        return this.status();
      }
      try {
        const configured = this.deps.config.pbkdf2Iterations;
        if (kdf.name === "pbkdf2-sha256" && kdf.iterations < configured) {
          // Stronger parameters are configured than the header's: re-wrap now, while we hold the passphrase.
          const upgraded = newPbkdf2Params(configured);
          const newKek = await derivePassphraseKek(passphrase, upgraded);
          const wrapped = keyring.wrap(newKek);
          await this.write(actor, op, null, (tx) => {
            tx.putHeader({ ...header, kdf: JSON.stringify(upgraded), keyring: wrapped, updatedAt: this.iso() });
            return { reason: `kdf upgraded to ${configured} iterations`, value: undefined };
          });
          kek.fill(0);
          kek = newKek;
        } else {
          await this.record(this.draft(actor, op, null, "allowed", null));
        }
      } catch (error) {
        keyring.destroy();
        kek.fill(0);
        throw error;
      }
      this.adopt(keyring, kek, await this.deps.store.keyUsage());
      this.deps.logger.info("vault unlocked");
      return this.status();
    });
  }

  unlockFromKeyFile(actor: VaultActor): Promise<VaultStatus> {
    return this.lockState.exclusive(async () => {
      const op = "unlock";
      await this.authorize(actor, op, null, ["vault:admin"]);
      const header = await this.requireHeader(actor, op, null);
      const kdf = await this.requireKdf(actor, op, header);
      if (kdf.name !== "key-file") {
        return this.refuse(actor, op, null, "failed", "passphrase vault", new ApiError("vault_locked", "this vault is protected by a passphrase"));
      }
      if (this.unlocked) {
        await this.record(this.draft(actor, op, null, "allowed", "already unlocked"));
        return this.status();
      }
      let opened: { keyring: Keyring; kek: Buffer; path: string } | null = null;
      for (const candidate of readUnsealKeys(this.deps.dataDir)) {
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
      if (!opened) return this.refuse(actor, op, null, "failed", "key file does not open the vault", new ApiError("vault_locked", "vault.key does not open this vault"));
      try {
        await this.record(this.draft(actor, op, null, "allowed", "key file"));
      } catch (error) {
        opened.keyring.destroy();
        opened.kek.fill(0);
        throw error;
      }
      // A rekey to a new key file was interrupted after its header committed: finish it.
      if (opened.path === pendingVaultKeyPath(this.deps.dataDir)) renameSync(opened.path, vaultKeyPath(this.deps.dataDir));
      this.adopt(opened.keyring, opened.kek, await this.deps.store.keyUsage());
      return this.status();
    });
  }

  lock(actor: VaultActor): Promise<VaultStatus> {
    return this.lockState.exclusive(async () => {
      const op = "lock";
      await this.authorize(actor, op, null, ["vault:admin"]);
      await this.requireHeader(actor, op, null);
      const was = this.unlocked !== null;
      this.drop();
      await this.record(this.draft(actor, op, null, "allowed", was ? null : "already locked"));
      this.deps.logger.info("vault locked");
      return this.status();
    });
  }

  rekey(newPassphrase: string | undefined, actor: VaultActor): Promise<VaultStatus> {
    return this.lockState.exclusive(async () => {
      const op = "rekey";
      await this.authorize(actor, op, null, ["vault:admin"]);
      const state = await this.requireUnlocked(actor, op, null);
      if (newPassphrase !== undefined && newPassphrase.length < MIN_PASSPHRASE) {
        await this.refuse(actor, op, null, "failed", "validation_failed", validation("newPassphrase", `use at least ${MIN_PASSPHRASE} characters`));
      }
      const kdf: StoredKdf = newPassphrase === undefined ? { name: "key-file" } : newPbkdf2Params(this.deps.config.pbkdf2Iterations);
      const kek = kdf.name === "pbkdf2-sha256" ? await derivePassphraseKek(newPassphrase!, kdf) : randomBytes(KEY_BYTES);
      const pending = pendingVaultKeyPath(this.deps.dataDir);
      try {
        // The new key file exists (as .new) before the header that needs it commits: a crash loses nothing.
        if (kdf.name === "key-file") writeKeyFile(pending, kek);
        const wrapped = state.keyring.wrap(kek);
        await this.write(actor, op, null, (tx) => {
          const header = tx.getHeader();
          if (!header) throw new Refusal(notInitialized(), "failed", "vault_not_initialized");
          tx.putHeader({ ...header, kdf: JSON.stringify(kdf), keyring: wrapped, updatedAt: this.iso() });
          return { reason: kdf.name === "key-file" ? "to key file" : "to passphrase", value: undefined };
        });
      } catch (error) {
        kek.fill(0);
        removeKeyFile(pending);
        throw error;
      }
      if (kdf.name === "key-file") renameSync(pending, vaultKeyPath(this.deps.dataDir));
      else removeKeyFile(vaultKeyPath(this.deps.dataDir));
      state.kek.destroy();
      state.kek = new KeyMaterial(kek);
      this.deps.logger.info({ kdf: kdf.name }, "vault rekeyed");
      return this.status();
    });
  }

  rotate(actor: VaultActor): Promise<{ keyVersion: number; reencrypted: number; retiredVersions: number[] }> {
    return this.lockState.exclusive(async () => {
      await this.authorize(actor, "rotate", null, ["vault:admin"]);
      return this.rotateExclusive(actor, null);
    });
  }

  // ---- secrets ----

  putSecret(name: string, request: PutSecretRequest, actor: VaultActor): Promise<SecretInfo> {
    return this.putAs("secret.put", name, request, actor, true);
  }

  getSecret(name: string, actor: VaultActor): Promise<SecretValueResponse> {
    const op = "secret.get";
    return this.lockState.shared(async () => {
      await this.checkName(actor, op, name);
      await this.authorize(actor, op, name, ["vault:read"]);
      const state = await this.requireUnlocked(actor, op, name);
      const stored = await this.deps.store.getSecret(name);
      if (!stored) return this.refuse(actor, op, name, "failed", "not_found", new ApiError("not_found", "secret not found"));
      if (this.expired(stored.meta)) return this.refuse(actor, op, name, "failed", "expired", new ApiError("not_found", "secret not found"));
      const current = stored.versions.find((row) => row.version === stored.meta.version);
      let value: string;
      try {
        if (!current) throw new DecryptionError();
        const plaintext = decryptSecret(current.ciphertext, name, current.version, (version) => state.keyring.keyFor(version));
        try {
          value = utf8.decode(plaintext);
        } finally {
          plaintext.fill(0);
        }
      } catch {
        return this.refuse(actor, op, name, "failed", "integrity check failed", integrityError());
      }
      const at = this.iso();
      await this.write(actor, op, name, (tx) => {
        tx.touchSecret(name, at, actor.owner);
        return { reason: null, value: undefined };
      });
      const versions = stored.versions.map((row) => row.version);
      return { ...this.info({ ...stored.meta, lastUsedAt: at, lastUsedBy: actor.owner, versions }), value };
    });
  }

  async listSecrets(actor: VaultActor): Promise<SecretInfo[]> {
    const op = "secret.list";
    await this.authorize(actor, op, null, ["vault:read"]);
    await this.requireHeader(actor, op, null);
    const all = await this.deps.store.listSecrets();
    const visible = all.filter((secret) => !secret.name.startsWith(SYSTEM_SECRET_PREFIX) && nameAllowed(secret.name, actor.secretPatterns));
    await this.record(this.draft(actor, op, null, "allowed", `${visible.length} names`));
    return visible.map((secret) => this.info(secret));
  }

  deleteSecret(name: string, actor: VaultActor): Promise<void> {
    const op = "secret.delete";
    return this.lockState.shared(async () => {
      await this.checkName(actor, op, name);
      await this.authorize(actor, op, name, ["vault:write"]);
      await this.requireUnlocked(actor, op, name);
      await this.write(actor, op, name, (tx) => {
        if (!tx.deleteSecret(name)) throw new Refusal(new ApiError("not_found", "secret not found"), "failed", "not_found");
        return { reason: null, value: undefined };
      });
    });
  }

  async storeServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string> {
    const name = serviceCredentialName(serviceId);
    await this.putAs("service-credential.store", name, { value }, actor, false);
    return `vault:${name}`;
  }

  // ---- transit ----

  async encrypt(plaintext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }> {
    const op = "transit.encrypt";
    const result = await this.lockState.shared(async () => {
      await this.authorize(actor, op, null, ["vault:write"]);
      const parsed = EncryptRequestSchema.safeParse({ plaintext, associatedData });
      if (!parsed.success) await this.refuse(actor, op, null, "failed", "validation_failed", validation("plaintext", "too long"));
      const state = await this.requireUnlocked(actor, op, null);
      return this.write(actor, op, null, (tx) => {
        const active = state.keyring.active;
        const bytes = Buffer.from(plaintext, "utf8");
        const ciphertext = encryptTransit(active.key.bytes, active.version, bytes, associatedData);
        bytes.fill(0);
        this.countEncryptions(tx, state, active.version, 1);
        return { reason: `v${active.version}`, value: { ciphertext, keyVersion: active.version } };
      });
    });
    await this.maybeAutoRotate();
    return result;
  }

  decrypt(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ plaintext: string }> {
    const op = "transit.decrypt";
    return this.lockState.shared(async () => {
      await this.authorize(actor, op, null, ["vault:read"]);
      const state = await this.requireUnlocked(actor, op, null);
      const plaintext = this.openTransit(state, ciphertext, associatedData);
      if (plaintext === null) return this.refuse(actor, op, null, "failed", "decryption_failed", decryptionFailed());
      await this.record(this.draft(actor, op, null, "allowed", null));
      return { plaintext };
    });
  }

  async rewrap(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }> {
    const op = "transit.rewrap";
    const result = await this.lockState.shared(async () => {
      await this.authorize(actor, op, null, ["vault:write"]);
      const state = await this.requireUnlocked(actor, op, null);
      const plaintext = this.openTransit(state, ciphertext, associatedData);
      if (plaintext === null) return this.refuse(actor, op, null, "failed", "decryption_failed", decryptionFailed());
      return this.write(actor, op, null, (tx) => {
        const active = state.keyring.active;
        const bytes = Buffer.from(plaintext, "utf8");
        const out = encryptTransit(active.key.bytes, active.version, bytes, associatedData);
        bytes.fill(0);
        this.countEncryptions(tx, state, active.version, 1);
        return { reason: `to v${active.version}`, value: { ciphertext: out, keyVersion: active.version } };
      });
    });
    await this.maybeAutoRotate();
    return result;
  }

  // ---- audit ----

  async auditEntries(query: AuditQuery, actor: VaultActor): Promise<AuditEntry[]> {
    const op = "audit.read";
    await this.authorize(actor, op, null, ["admin"]);
    await this.record(this.draft(actor, op, null, "allowed", null));
    const rows = await this.deps.store.listAudit(query);
    return rows.map(({ mac: _mac, ...entry }) => entry);
  }

  async verifyAudit(actor: VaultActor): Promise<{ ok: boolean; entries: number; brokenAt: number | null }> {
    const op = "audit.verify";
    await this.authorize(actor, op, null, ["admin"]);
    const head = await this.deps.store.auditHead();
    const report = await verifyChain(this.audit, head, (after, limit) => this.deps.store.auditPage(after, limit));
    await this.record(this.draft(actor, op, null, "allowed", report.ok ? `ok (${report.entries} entries)` : `broken at ${report.brokenAt}`));
    return report;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lockState.exclusive(async () => {
      this.drop();
    });
  }

  // ---- internals ----

  private putAs(op: string, name: string, request: PutSecretRequest, actor: VaultActor, checkAccess: boolean): Promise<SecretInfo> {
    const result = this.lockState.shared(async () => {
      await this.checkName(actor, op, name);
      const parsed = PutSecretRequestSchema.safeParse(request);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        await this.refuse(actor, op, name, "failed", "validation_failed", validation(issue?.path.map(String).join(".") || "value", issue?.message ?? "invalid"));
      }
      if (request.expiresAt !== undefined && Date.parse(request.expiresAt) <= this.now()) {
        await this.refuse(actor, op, name, "failed", "validation_failed", validation("expiresAt", "must be in the future"));
      }
      if (checkAccess) await this.authorize(actor, op, name, ["vault:write"]);
      const state = await this.requireUnlocked(actor, op, name);
      const keep = this.deps.config.keepVersions;
      return this.write(actor, op, name, (tx) => {
        const existing = tx.getSecret(name);
        const version = (existing?.meta.version ?? 0) + 1;
        const at = this.iso();
        const active = state.keyring.active;
        const bytes = Buffer.from(request.value, "utf8");
        const ciphertext = encryptSecret(active.key.bytes, active.version, name, version, bytes);
        bytes.fill(0);
        const meta: SecretMetaRow = {
          name,
          version,
          description: request.description ?? existing?.meta.description ?? null,
          createdAt: existing?.meta.createdAt ?? at,
          createdBy: existing?.meta.createdBy ?? actor.owner,
          updatedAt: at,
          updatedBy: actor.owner,
          lastUsedAt: existing?.meta.lastUsedAt ?? null,
          lastUsedBy: existing?.meta.lastUsedBy ?? null,
          expiresAt: request.expiresAt ?? null,
        };
        tx.putSecretMeta(meta);
        tx.putSecretVersion({ name, version, keyVersion: active.version, ciphertext, createdAt: at });
        const keepFrom = version - keep + 1;
        tx.pruneSecretVersions(name, keepFrom);
        this.countEncryptions(tx, state, active.version, 1);
        const versions = [version, ...(existing?.versions.map((row) => row.version) ?? [])].filter((v) => v >= keepFrom);
        return { reason: `v${version}`, value: this.info({ ...meta, versions }) };
      });
    });
    return result.then(async (info) => {
      await this.maybeAutoRotate();
      return info;
    });
  }

  /** Runs with the exclusive lock held. */
  private async rotateExclusive(actor: VaultActor, why: string | null): Promise<{ keyVersion: number; reencrypted: number; retiredVersions: number[] }> {
    const op = "rotate";
    const state = await this.requireUnlocked(actor, op, null);
    const { next, newVersion, retired, dropped } = state.keyring.rotated(this.now(), this.keepRetired);
    const newKey = next.keyFor(newVersion)!;
    let reencrypted: number;
    try {
      const wrapped = next.wrap(state.kek.bytes);
      reencrypted = await this.write(actor, op, null, (tx) => {
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
        tx.putHeader({ ...header, keyring: wrapped, activeVersion: newVersion, updatedAt: this.iso() });
        tx.setKeyUsage(newVersion, rows.length);
        for (const version of dropped) tx.deleteKeyUsage(version);
        const reason = `v${newVersion}, re-encrypted ${rows.length}${why ? `, ${why}` : ""}`;
        return { reason, value: rows.length };
      });
    } catch (error) {
      next.destroyVersions([newVersion]);
      throw error;
    }
    state.usage.set(newVersion, reencrypted);
    for (const version of dropped) state.usage.delete(version);
    state.keyring.destroyVersions(dropped);
    state.keyring = next;
    this.deps.onKeyringLoaded?.(next);
    this.deps.logger.info({ keyVersion: newVersion, reencrypted }, "vault data key rotated");
    return { keyVersion: newVersion, reencrypted, retiredVersions: retired };
  }

  /** Rotates as the server once the active key has done `rotateAfterEncryptions` encryptions. */
  private async maybeAutoRotate(): Promise<void> {
    const state = this.unlocked;
    if (!state || this.rotating) return;
    const active = state.keyring.active.version;
    if ((state.usage.get(active) ?? 0) < this.deps.config.rotateAfterEncryptions) return;
    this.rotating = true;
    try {
      await this.lockState.exclusive(async () => {
        // Re-check under the lock: another caller may have rotated (or locked) meanwhile.
        const current = this.unlocked;
        if (!current || (current.usage.get(current.keyring.active.version) ?? 0) < this.deps.config.rotateAfterEncryptions) return;
        await this.rotateExclusive(SERVER_ACTOR, "automatic");
      });
    } catch (error) {
      this.deps.logger.error({ err: error }, "vault: automatic rotation failed");
    } finally {
      this.rotating = false;
    }
  }

  private countEncryptions(tx: VaultTx, state: Unlocked, version: number, count: number): void {
    const used = (state.usage.get(version) ?? 0) + count;
    state.usage.set(version, used);
    tx.setKeyUsage(version, used);
  }

  private openTransit(state: Unlocked, ciphertext: string, associatedData: string | undefined): string | null {
    try {
      if (typeof ciphertext !== "string" || ciphertext.length > 2 * 1024 * 1024) return null;
      const { plaintext } = decryptTransit(ciphertext, associatedData, (version) => state.keyring.keyFor(version));
      try {
        return utf8.decode(plaintext);
      } finally {
        plaintext.fill(0);
      }
    } catch {
      return null;
    }
  }

  private adopt(keyring: Keyring, kek: Buffer, usage: Map<number, number>): void {
    const wasUnlocked = this.unlocked !== null;
    this.drop(false);
    this.unlocked = { keyring, kek: new KeyMaterial(kek), usage };
    this.deps.onKeyringLoaded?.(keyring);
    if (!wasUnlocked) this.announce(true);
  }

  /** Zeroes and forgets every key. */
  private drop(announce = true): void {
    if (!this.unlocked) return;
    this.unlocked.keyring.destroy();
    this.unlocked.kek.destroy();
    this.unlocked = null;
    if (announce) this.announce(false);
  }

  private announce(unlocked: boolean): void {
    for (const listener of this.lockListeners) {
      try {
        listener(unlocked);
      } catch (error) {
        this.deps.logger.error({ err: error }, "vault lock listener failed");
      }
    }
  }

  onLockChange(listener: (unlocked: boolean) => void): () => void {
    this.lockListeners.add(listener);
    return () => this.lockListeners.delete(listener);
  }

  get isUnlocked(): boolean {
    return this.unlocked !== null;
  }

  private info(secret: ListedSecret): SecretInfo {
    const info: SecretInfo = {
      name: secret.name,
      version: secret.version,
      versions: [...secret.versions].sort((a, b) => b - a),
      createdAt: secret.createdAt,
      createdBy: secret.createdBy,
      updatedAt: secret.updatedAt,
      updatedBy: secret.updatedBy,
      lastUsedAt: secret.lastUsedAt,
      lastUsedBy: secret.lastUsedBy,
      expiresAt: secret.expiresAt,
      expired: this.expired(secret),
    };
    if (secret.description !== null) info.description = secret.description;
    return info;
  }

  private expired(meta: Pick<SecretMetaRow, "expiresAt">): boolean {
    return meta.expiresAt !== null && Date.parse(meta.expiresAt) <= this.now();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private draft(actor: VaultActor, operation: string, name: string | null, outcome: StoredAuditEntry["outcome"], reason: string | null): AuditDraft {
    return {
      at: this.iso(),
      tokenId: actor.tokenId,
      actor: actor.owner,
      operation,
      secret: name === null ? null : this.audit.hashName(name),
      outcome,
      reason,
      requestId: actor.requestId ?? null,
    };
  }

  private appendIn(tx: VaultTx, draft: AuditDraft): void {
    tx.appendAudit(this.audit.next(tx.auditHead(), draft));
  }

  /** Appends one audit entry on its own; any failure becomes `unavailable` (the caller's operation fails). */
  private async record(draft: AuditDraft): Promise<void> {
    try {
      await this.deps.store.transact((tx) => this.appendIn(tx, draft));
    } catch (error) {
      this.deps.logger.error({ err: error, operation: draft.operation }, "vault: audit entry could not be written");
      throw auditUnavailable();
    }
  }

  /**
   * Runs `work` and its audit entry in one transaction. A `Refusal` thrown by `work` rolls it back and is
   * recorded on its own (then thrown as its ApiError); any other failure fails the operation closed.
   */
  private async write<T>(actor: VaultActor, op: string, name: string | null, work: (tx: VaultTx) => { reason: string | null; value: T }): Promise<T> {
    try {
      return await this.deps.store.transact((tx) => {
        const { reason, value } = work(tx);
        this.appendIn(tx, this.draft(actor, op, name, "allowed", reason));
        return value;
      });
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(actor, op, name, error.outcome, error.reason, error.error);
      this.deps.logger.error({ err: error, operation: op }, "vault: operation could not be written");
      throw auditUnavailable();
    }
  }

  /** Records a denied or failed operation, then throws its error. */
  private async refuse(actor: VaultActor, op: string, name: string | null, outcome: "denied" | "failed", reason: string, error: ApiError): Promise<never> {
    await this.record(this.draft(actor, op, name, outcome, reason));
    throw error;
  }

  private async authorize(actor: VaultActor, op: string, name: string | null, scopes: Scope[]): Promise<void> {
    if (!hasAnyScope(actor, scopes)) {
      await this.refuse(actor, op, name, "denied", `missing scope ${scopes.join(" or ")}`, new ApiError("forbidden", `this needs the ${scopes.join(" or ")} scope`));
    }
    if (name !== null && !nameAllowed(name, actor.secretPatterns)) {
      await this.refuse(actor, op, name, "denied", "outside the token's secret patterns", new ApiError("forbidden", "this token may not use that secret"));
    }
  }

  private async checkName(actor: VaultActor, op: string, name: string): Promise<void> {
    // The server's own secrets: a name no token can send, accepted only from the server itself.
    const system = actor.tokenId === null && actor.owner === SERVER_ACTOR.owner && name.startsWith(SYSTEM_SECRET_PREFIX);
    const parsed = SecretNameSchema.safeParse(system ? name.slice(SYSTEM_SECRET_PREFIX.length) : name);
    if (!parsed.success) {
      await this.refuse(actor, op, name.slice(0, 200), "failed", "validation_failed", validation("name", parsed.error.issues[0]?.message ?? "invalid secret name"));
    }
  }

  private async requireHeader(actor: VaultActor, op: string, name: string | null): Promise<VaultHeaderRow> {
    const header = await this.deps.store.getHeader();
    if (!header) return this.refuse(actor, op, name, "failed", "vault_not_initialized", notInitialized());
    return header;
  }

  private async requireKdf(actor: VaultActor, op: string, header: VaultHeaderRow): Promise<StoredKdf> {
    const kdf = parseStoredKdf(header.kdf);
    if (!kdf || header.format !== VAULT_FORMAT) {
      return this.refuse(actor, op, null, "failed", "unknown header format", new ApiError("internal", "the vault header uses a format or KDF this server does not know"));
    }
    return kdf;
  }

  private async requireUnlocked(actor: VaultActor, op: string, name: string | null): Promise<Unlocked> {
    if (this.closed) return this.refuse(actor, op, name, "failed", "vault_locked", lockedError());
    await this.requireHeader(actor, op, name);
    if (!this.unlocked) return this.refuse(actor, op, name, "failed", "vault_locked", lockedError());
    return this.unlocked;
  }
}
