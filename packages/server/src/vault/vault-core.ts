/**
 * @module vault/vault-core
 * The state every part of the vault works on, and the checks they all run first. One `VaultCore` per vault:
 * - the keys while unlocked (keyring, KEK, encryptions per key version), as zeroable Buffers, and who is
 *   told when they come and go;
 * - the readers–writer lock: secret and transit operations hold it shared, key-changing operations
 *   (init, unlock, lock, rekey, rotate, close) exclusively, so no operation sees a keyring being replaced
 *   or zeroed;
 * - the audit writer and the guards (scope, name, initialised, unlocked), each of which audits its refusal;
 * - freshness when several instances share the store: the keys remember the wrapped keyring they were opened
 *   from, and an operation that finds another header in the store (another instance rotated or re-keyed)
 *   throws `StaleKeys` before it uses a key, so the facade reloads and runs it again (vault-reload.ts).
 *   Writes that encrypt check the same INSIDE their transaction, which a shared store serialises with every
 *   instance's rotation: no instance can commit a secret under a data key another instance already retired.
 * The parts (vault-lifecycle, vault-unlock, vault-rotation, vault-secrets, vault-transit, vault-audit) hold
 * no key state of their own, so there is exactly one place where keys are adopted and dropped.
 */
import { SecretNameSchema, type Scope, type VaultStatus } from "@kai/protocol";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { ApiError } from "../errors.js";
import { hasAnyScope } from "../auth/principal.js";
import type { VaultHeaderRow, VaultStore } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import { parseStoredKdf, publicKdf, type StoredKdf } from "./crypto/kdf.js";
import type { AuditKeys } from "./audit-chain.js";
import type { Keyring } from "./keyring.js";
import { KeyMaterial } from "./redacted.js";
import { nameAllowed } from "./secret-patterns.js";
import { UnlockBackoff } from "./unlock-backoff.js";
import { RwLock } from "./rw-lock.js";
import { VaultAuditWriter } from "./vault-audit-writer.js";
import { LEGACY_FORMAT, VAULT_FORMAT } from "./vault-header.js";
import { lockedError, notInitialized, StaleKeys, validation } from "./vault-errors.js";
import type { VaultTx } from "../storage/contracts/vault-store.js";

export interface VaultDeps {
  store: VaultStore;
  dataDir: string;
  config: Config["vault"];
  logger: Logger;
  /**
   * Where the vault's accesses are logged as security events: the node's security logger (`createLogger`'s
   * `securityLogger`, which writes them whatever `logging.level` says); `logger` when none is given.
   */
  securityLogger?: Pick<Logger, "info" | "warn">;
  now?: () => number;
  /** Retired data-key versions kept for transit decrypt/rewrap after a rotation (default 2). */
  keepRetiredKeys?: number;
  /** Test hook: called with the keyring each time one is loaded into memory. */
  onKeyringLoaded?: (keyring: Keyring) => void;
  /**
   * Where `vault.key` and `audit.key` are kept (default: `dataDir`). Instances sharing a database must share
   * `audit.key` (one MAC chain): point every instance at the same directory (a mounted secret) or copy the file.
   */
  keyDir?: string;
}

/**
 * Names of the server's own secrets (the node key). `#` is not allowed in API secret names, so no token can
 * read, write, delete or list them, whatever its scopes; only the server actor addresses them.
 */
export const SYSTEM_SECRET_PREFIX = "#system/";

/** The server acting on its own behalf (auto-unlock at start, automatic rotation). */
export const SERVER_ACTOR: VaultActor = { tokenId: null, owner: "kai-server", scopes: ["admin"] };


/** The keys in memory while the vault is unlocked. */
export interface UnlockedKeys {
  keyring: Keyring;
  kek: KeyMaterial;
  /**
   * Encryptions per data-key version, as the store last reported them (every encryption's transaction returns
   * the new total, which counts every instance's encryptions); drives automatic rotation.
   */
  usage: Map<number, number>;
  /** The header's wrapped keyring these keys were opened from or written as: a different one in the store means stale keys. */
  wrapped: Buffer;
}

export class VaultCore {
  readonly now: () => number;
  readonly lockState = new RwLock();
  readonly backoff: UnlockBackoff;
  readonly audit: VaultAuditWriter;
  private keys: UnlockedKeys | null = null;
  private readonly lockListeners = new Set<(unlocked: boolean) => void>();
  private readonly headerListeners = new Set<() => void>();
  private readonly secretListeners = new Set<(name: string) => void>();
  private closed = false;

  constructor(
    readonly deps: VaultDeps,
    readonly auditKeys: AuditKeys,
  ) {
    this.now = deps.now ?? Date.now;
    this.backoff = new UnlockBackoff(deps.config.freeUnlockAttempts, this.now);
    this.audit = new VaultAuditWriter(deps.store, deps.logger, deps.securityLogger ?? deps.logger, auditKeys, () => this.iso());
  }

  /** The keys while unlocked, else null. Replaced only through `adopt` and `drop`. */
  get unlocked(): UnlockedKeys | null {
    return this.keys;
  }

  get isUnlocked(): boolean {
    return this.keys !== null;
  }

  /** Where vault.key and audit.key are kept. */
  get keyDir(): string {
    return this.deps.keyDir ?? this.deps.dataDir;
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  async status(): Promise<VaultStatus> {
    const header = await this.deps.store.getHeader();
    const unlockBackoffSeconds = this.backoff.remainingSeconds();
    if (!header) {
      return { initialized: false, locked: true, autoUnlock: false, kdf: null, keyVersion: null, secrets: null, encryptionsUnderCurrentKey: null, unlockBackoffSeconds };
    }
    const kdf = parseStoredKdf(header.kdf);
    // From the store, not memory: with several instances the count is everyone's.
    const usage = await this.deps.store.keyUsage();
    return {
      initialized: true,
      locked: this.keys === null,
      autoUnlock: kdf?.name === "key-file",
      kdf: kdf ? publicKdf(kdf) : null,
      // While unlocked, from the keyring (authenticated); while locked, the header's copy, checked at unlock.
      keyVersion: this.keys?.keyring.active.version ?? header.activeVersion,
      // The server's own `#system/` secrets (the node key) are no one's to see, so they are not counted either.
      secrets: await this.deps.store.countSecrets(SYSTEM_SECRET_PREFIX),
      encryptionsUnderCurrentKey: usage.get(header.activeVersion) ?? 0,
      unlockBackoffSeconds,
    };
  }

  // ---- key state (call with the exclusive lock held) ----

  /** Takes ownership of `keyring` and `kek` (zeroing whatever was held before); `wrapped`: the header's keyring they match. */
  adopt(keyring: Keyring, kek: Buffer, usage: Map<number, number>, wrapped: Buffer): void {
    const wasUnlocked = this.keys !== null;
    this.drop(false);
    this.keys = { keyring, kek: new KeyMaterial(kek), usage, wrapped: Buffer.from(wrapped) };
    this.deps.onKeyringLoaded?.(keyring);
    if (!wasUnlocked) this.announce(true);
  }

  /** Zeroes and forgets every key. */
  drop(announce = true): void {
    if (!this.keys) return;
    this.keys.keyring.destroy();
    this.keys.kek.destroy();
    this.keys = null;
    if (announce) this.announce(false);
  }

  onLockChange(listener: (unlocked: boolean) => void): () => void {
    this.lockListeners.add(listener);
    return () => this.lockListeners.delete(listener);
  }

  onHeaderChanged(listener: () => void): () => void {
    this.headerListeners.add(listener);
    return () => this.headerListeners.delete(listener);
  }

  onSecretChanged(listener: (name: string) => void): () => void {
    this.secretListeners.add(listener);
    return () => this.secretListeners.delete(listener);
  }

  /** This instance committed a change to secret `name`'s value (put, delete): tells the listeners (the gateway's cache, the cluster layer). */
  secretChanged(name: string): void {
    for (const listener of this.secretListeners) {
      try {
        listener(name);
      } catch (error) {
        this.deps.logger.error({ err: error }, "vault secret listener failed");
      }
    }
  }

  /** This instance committed a new header (init, unlock's upgrade, rekey, rotation): tells the listeners (the cluster layer). */
  headerChanged(): void {
    for (const listener of this.headerListeners) {
      try {
        listener();
      } catch (error) {
        this.deps.logger.error({ err: error }, "vault header listener failed");
      }
    }
  }

  // ---- freshness (several instances on one store) ----

  /** Throws `StaleKeys` when the store's header is not the one `keys` came from. */
  checkFresh(keys: UnlockedKeys, header: VaultHeaderRow | null): void {
    if (!header || !header.keyring.equals(keys.wrapped)) throw new StaleKeys();
  }

  /** Inside a transaction that encrypts or rewrites the header: the same check, serialised with every instance's writes. */
  checkFreshIn(tx: VaultTx, keys: UnlockedKeys): VaultHeaderRow {
    const header = tx.getHeader();
    this.checkFresh(keys, header);
    return header!;
  }

  /** True when this instance holds keys and the store's header moved on (so a key it lacks may simply be newer). */
  async keysOutdated(): Promise<boolean> {
    const keys = this.keys;
    if (!keys) return false;
    const header = await this.deps.store.getHeader();
    return !header || !header.keyring.equals(keys.wrapped);
  }

  /** Notes a counter total the store returned after a commit (totals only grow, so a late one never lowers it). */
  noteUsage(keys: UnlockedKeys, version: number, total: number): void {
    keys.usage.set(version, Math.max(keys.usage.get(version) ?? 0, total));
  }

  /** Drops the keys for good: every later operation that needs a key is refused as locked. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lockState.exclusive(async () => {
      this.drop();
    });
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

  // ---- guards: each refusal is audited before it is thrown ----

  async authorize(actor: VaultActor, op: string, name: string | null, scopes: Scope[]): Promise<void> {
    if (!hasAnyScope(actor, scopes)) {
      await this.audit.refuse(actor, op, name, "denied", `missing scope ${scopes.join(" or ")}`, new ApiError("forbidden", `this needs the ${scopes.join(" or ")} scope`));
    }
    if (name !== null && !nameAllowed(name, actor.secretPatterns)) {
      await this.audit.refuse(actor, op, name, "denied", "outside the token's secret patterns", new ApiError("forbidden", "this token may not use that secret"));
    }
  }

  async checkName(actor: VaultActor, op: string, name: string): Promise<void> {
    // The server's own secrets: a name no token can send, accepted only from the server itself.
    const system = actor.tokenId === null && actor.owner === SERVER_ACTOR.owner && name.startsWith(SYSTEM_SECRET_PREFIX);
    const parsed = SecretNameSchema.safeParse(system ? name.slice(SYSTEM_SECRET_PREFIX.length) : name);
    if (!parsed.success) {
      await this.audit.refuse(actor, op, name.slice(0, 200), "failed", "validation_failed", validation("name", parsed.error.issues[0]?.message ?? "invalid secret name"));
    }
  }

  async requireHeader(actor: VaultActor, op: string, name: string | null): Promise<VaultHeaderRow> {
    const header = await this.deps.store.getHeader();
    if (!header) return this.audit.refuse(actor, op, name, "failed", "vault_not_initialized", notInitialized());
    return header;
  }

  async requireKdf(actor: VaultActor, op: string, header: VaultHeaderRow): Promise<StoredKdf> {
    const kdf = parseStoredKdf(header.kdf);
    if (!kdf || (header.format !== VAULT_FORMAT && header.format !== LEGACY_FORMAT)) {
      // Said in the log too: at start this is the only trace of a replaced KDF row or an unknown format.
      this.deps.logger.error(
        { format: header.format, kdfReadable: kdf !== null },
        "vault: the header's format or KDF row is not one this server knows (altered, or written by a newer server); the vault stays locked",
      );
      return this.audit.refuse(actor, op, null, "failed", "unknown header format", new ApiError("internal", "the vault header uses a format or KDF this server does not know"));
    }
    return kdf;
  }

  /**
   * Stored data failed its integrity check: one error-level log line (naming the secret, never a value) and
   * a `failed` audit entry, then `error` is thrown.
   */
  async tampered(actor: VaultActor, op: string, name: string | null, what: string, error: ApiError): Promise<never> {
    // A secret under a key version this instance does not hold yet is not tampering if another instance rotated.
    if (await this.keysOutdated()) throw new StaleKeys();
    this.deps.logger.error(name === null ? { operation: op } : { operation: op, secret: name }, `vault: tampering detected: ${what}`);
    return this.audit.refuse(actor, op, name, "failed", `tampered: ${what}`, error);
  }

  /** The keys, checked against the store's header (`StaleKeys` when another instance changed it). */
  async requireUnlocked(actor: VaultActor, op: string, name: string | null): Promise<UnlockedKeys> {
    if (this.closed) return this.audit.refuse(actor, op, name, "failed", "vault_locked", lockedError());
    const header = await this.requireHeader(actor, op, name);
    if (!this.keys) return this.audit.refuse(actor, op, name, "failed", "vault_locked", lockedError());
    this.checkFresh(this.keys, header);
    return this.keys;
  }
}
