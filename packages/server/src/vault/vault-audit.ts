/**
 * @module vault/vault-audit
 * Reading and verifying the vault's audit log (admin only: vault admins must not read their own trail).
 * Neither needs the keys, so both work while the vault is locked; reading the log is itself audited, and
 * that entry is written before any row is released. Writing entries is vault-audit-writer.ts.
 */
import type { AuditEntry } from "@kai/protocol";
import type { AuditQuery, VaultActor } from "./vault.js";
import { verifyChain, type ChainReport } from "./audit-chain.js";
import type { VaultCore } from "./vault-core.js";

export class VaultAudit {
  constructor(private readonly core: VaultCore) {}

  async auditEntries(query: AuditQuery, actor: VaultActor): Promise<AuditEntry[]> {
    const { core } = this;
    const op = "audit.read";
    await core.authorize(actor, op, null, ["admin"]);
    await core.audit.record(core.audit.draft(actor, op, null, "allowed", null));
    const rows = await core.deps.store.listAudit(query);
    // The MACs stay inside: they are for verifyAudit, not for readers.
    return rows.map(({ mac: _mac, ...entry }) => entry);
  }

  async verifyAudit(actor: VaultActor): Promise<ChainReport> {
    const { core } = this;
    const op = "audit.verify";
    await core.authorize(actor, op, null, ["admin"]);
    const head = await core.deps.store.auditHead();
    const report = await verifyChain(core.auditKeys, head, (after, limit) => core.deps.store.auditPage(after, limit));
    await core.audit.record(core.audit.draft(actor, op, null, "allowed", report.ok ? `ok (${report.entries} entries)` : `broken at ${report.brokenAt}`));
    return report;
  }
}
