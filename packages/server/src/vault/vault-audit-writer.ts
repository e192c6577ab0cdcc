/**
 * @module vault/vault-audit-writer
 * How every vault operation writes its audit entry (allowed, denied or failed), fail closed: an operation
 * whose entry cannot be written does not happen. Writes go through `write`, which puts the change and its
 * entry in ONE store transaction; reads and refusals append their entry on its own with `record` before
 * anything is released. Secret names are stored only as keyed hashes (audit-chain.ts).
 *
 * With several instances on one store, every instance must write the chain with the same audit key. An
 * instance whose key is not the one the store recorded is `blocked` (vault-service.ts decides at start): it
 * writes nothing, so every operation fails closed instead of forking the chain. A database that is unreachable
 * is reported as such (`storage_unavailable`), not as a broken log.
 */
import type { Logger } from "../logging/logger.js";
import type { ApiError } from "../errors.js";
import { StorageUnavailableError } from "../storage/contracts/storage-errors.js";
import type { StoredAuditEntry, VaultReads, VaultStore, VaultTx } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import type { AuditDraft, AuditKeys } from "./audit-chain.js";
import { auditUnavailable, Refusal, StaleKeys } from "./vault-errors.js";

/** Errors that already say what happened; every other failure to write is `auditUnavailable`. */
const passesThrough = (error: unknown) => error instanceof StaleKeys || error instanceof StorageUnavailableError;

export class VaultAuditWriter {
  /** Why this instance must not write the chain (its audit key is not the shared one), or null. */
  private blocked: string | null = null;

  constructor(
    private readonly store: VaultStore,
    private readonly logger: Logger,
    /**
     * Where each access's security line goes: the node's security logger, which writes them whatever `logging.level`
     * says (logging/security-lines.ts).
     */
    private readonly securityLines: Pick<Logger, "info" | "warn">,
    private readonly keys: AuditKeys,
    /** The vault's clock as an ISO timestamp (injectable in tests). */
    private readonly iso: () => string,
  ) {}

  draft(actor: VaultActor, operation: string, name: string | null, outcome: StoredAuditEntry["outcome"], reason: string | null): AuditDraft {
    return {
      at: this.iso(),
      tokenId: actor.tokenId,
      actor: actor.owner,
      operation,
      secret: name === null ? null : this.keys.hashName(name),
      outcome,
      reason,
      requestId: actor.requestId ?? null,
    };
  }

  /** From now on every append fails (closed): `why` is logged with each refused operation. */
  block(why: string): void {
    this.blocked = why;
  }

  /** Appends one audit entry on its own; any failure becomes `unavailable` (the caller's operation fails). */
  async record(draft: AuditDraft): Promise<void> {
    try {
      await this.store.transact((tx) => this.appendIn(tx, draft));
    } catch (error) {
      if (passesThrough(error)) throw error;
      this.logger.error({ err: error, operation: draft.operation }, "vault: audit entry could not be written");
      throw auditUnavailable();
    }
    this.logAccess(draft);
  }

  /**
   * Runs `work` and its audit entry in one transaction. A `Refusal` thrown by `work` rolls it back and is
   * recorded on its own (then thrown as its ApiError); any other failure fails the operation closed.
   */
  async write<T>(
    actor: VaultActor,
    op: string,
    name: string | null,
    work: (tx: VaultTx) => { reason: string | null; value: T },
    /** What `work` reads (the store loads it first; see contracts/vault-store.ts). */
    reads?: VaultReads,
  ): Promise<T> {
    try {
      let written: AuditDraft | undefined;
      const value = await this.store.transact((tx) => {
        const { reason, value } = work(tx);
        written = this.draft(actor, op, name, "allowed", reason);
        this.appendIn(tx, written);
        return value;
      }, reads);
      if (written) this.logAccess(written);
      return value;
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(actor, op, name, error.outcome, error.reason, error.error);
      if (passesThrough(error)) throw error;
      this.logger.error({ err: error, operation: op }, "vault: operation could not be written");
      throw auditUnavailable();
    }
  }

  /** Records a denied or failed operation, then throws its error. */
  async refuse(actor: VaultActor, op: string, name: string | null, outcome: "denied" | "failed", reason: string, error: ApiError): Promise<never> {
    await this.record(this.draft(actor, op, name, outcome, reason));
    throw error;
  }

  /**
   * The security log's line for an entry once written (logging/log-routing.ts sends `category: security` to
   * logs/security/): who did which operation and how it went; never the secret's name, its hash or the reason text.
   */
  private logAccess(draft: AuditDraft): void {
    const line = { category: "security", event: "vault.access", operation: draft.operation, outcome: draft.outcome, actor: draft.actor, tokenId: draft.tokenId, ...(draft.requestId !== null ? { requestId: draft.requestId } : {}) };
    if (draft.outcome === "allowed") this.securityLines.info(line, `security: vault.${draft.operation}`);
    else this.securityLines.warn(line, `security: vault.${draft.operation}`);
  }

  private appendIn(tx: VaultTx, draft: AuditDraft): void {
    if (this.blocked !== null) throw new Error(this.blocked);
    tx.appendAudit(this.keys.next(tx.auditHead(), draft));
  }
}
