/**
 * @module storage/copy/copy-vault
 * Copies the credential vault as the opaque bytes its store keeps (contracts/vault-store.ts): the header
 * (the wrapped keyring and how to unwrap it), every secret's metadata and kept versions, the key usage
 * counters and the audit chain with its seq numbers and MACs. Nothing is decrypted or re-encrypted, so the
 * copy needs no passphrase, the target opens with the same passphrase (or key file), and the audit chain
 * still verifies with the node's `audit.key`.
 *
 * The header goes first: a target that has one is never initialised again by an instance started on it
 * meanwhile. A secret's metadata row is written before its versions, because a backend may replace the row
 * by delete-and-insert (SQLite's versions cascade on it). Audit entries are appended in seq order, which is
 * the only order the contract accepts.
 */
import type { StoredSecret, VaultStore } from "../contracts/vault-store.js";
import type { Progress } from "./copy-node.js";

/** Secrets per transaction. */
const SECRET_BATCH = 100;
/** Audit entries per page and transaction. */
const AUDIT_BATCH = 1000;

export interface VaultCopied {
  initialised: boolean;
  secrets: number;
  auditEntries: number;
}

export async function copyVault(source: VaultStore, target: VaultStore, progress: Progress): Promise<VaultCopied> {
  const header = await source.getHeader();
  const usage = await source.keyUsage();
  if (header || usage.size > 0) {
    await target.transact((tx) => {
      if (header) tx.putHeader(header);
      // The target's counters are empty: adding the source's totals sets them.
      for (const [version, encryptions] of usage) tx.addKeyUsage(version, encryptions);
    });
  }

  const names = (await source.listSecrets()).map((secret) => secret.name);
  for (let start = 0; start < names.length; start += SECRET_BATCH) {
    const batch: StoredSecret[] = [];
    for (const name of names.slice(start, start + SECRET_BATCH)) {
      const secret = await source.getSecret(name);
      if (secret) batch.push(secret);
    }
    await target.transact((tx) => {
      for (const { meta, versions } of batch) {
        tx.putSecretMeta(meta);
        for (const version of versions) tx.putSecretVersion(version);
      }
    });
    progress(`vault secrets: ${Math.min(start + SECRET_BATCH, names.length)} of ${names.length} copied`);
  }

  let auditEntries = 0;
  for (let after = 0; ; ) {
    const entries = await source.auditPage(after, AUDIT_BATCH);
    if (entries.length === 0) break;
    await target.transact((tx) => {
      for (const entry of entries) tx.appendAudit(entry);
    });
    auditEntries += entries.length;
    after = entries[entries.length - 1]!.seq;
    progress(`vault audit log: ${auditEntries} entries copied`);
    if (entries.length < AUDIT_BATCH) break;
  }
  return { initialised: header !== null, secrets: names.length, auditEntries };
}
