/**
 * @module storage/copy/source-audit-key
 * The audit log's MAC key stays a file (`audit.key`, vault/key-files.ts): the copy never puts it in the
 * database, as a copy of the database alone must not be able to forge audit entries. What the copy does
 * record in the target is the key's public check value (`AuditKeys.check`) through the vault store's
 * `claimAuditKey`, the way the first instance of a cluster would: then an instance started without the
 * source's `audit.key` (a new one made, or another node's) is refused by the vault with a clear message,
 * instead of claiming its own key and leaving the copied chain unverifiable for every instance after it.
 */
import { AuditKeys } from "../../vault/audit-chain.js";
import { auditKeyPath, readKeyFile } from "../../vault/key-files.js";

export interface SourceAuditKey {
  path: string;
  /** The key's check value (hex), or null when the source has no audit.key. */
  check: string | null;
}

export function readSourceAuditKey(keyDir: string): SourceAuditKey {
  const path = auditKeyPath(keyDir);
  const key = readKeyFile(path);
  if (!key) return { path, check: null };
  const keys = new AuditKeys(key);
  key.fill(0);
  const { check } = keys;
  keys.destroy();
  return { path, check };
}
