/**
 * @module views/backups/RestoreNote
 * How to restore, in words and the exact command: a restore replaces everything a node holds, so it runs on a
 * stopped node into an empty target with `kai backup restore` (docs/operations/backup.md#restoring). There is no
 * restore over the API, hence no button here. The command names the newest backup listed, when there is one; a node
 * with an offsite store also gets the command that restores straight from it (a machine whose disk was lost). How the
 * restored node is started follows that backup's vault: its passphrase, or (`vaultUnseal: key-file`) a copy of the old
 * node's vault.key put in place first, as `kai backup restore` says (no backup carries it; without it the vault stays
 * locked).
 */
import type { BackupVaultUnseal } from "@kai/protocol";
import { Panel } from "../../components/Page";

/**
 * A node restored into PostgreSQL starts with that database: without it, `kai serve` opens `<data-dir>/kai.db` and
 * refuses to start (the data directory names a node that file does not hold).
 */
const RESTORED_INTO_POSTGRES = "# restored into PostgreSQL: start it with that database";

export function RestoreNote({ newest, offsite = false, vaultUnseal }: { newest: string | undefined; offsite?: boolean; vaultUnseal?: BackupVaultUnseal | undefined }) {
  const file = newest !== undefined ? `${newest}.kaibak` : "kai-backup-….kaibak";
  const id = newest ?? "kai-backup-…";
  const commands = [
    "# on the stopped node; the file is in its backup directory (backup.dir, default <data-dir>/backups),",
    "# or anywhere else once downloaded (Download above, or: kai backup download <id>)",
    `kai backup restore ${file} --data-dir /var/lib/kai-restored --passphrase`,
    "# PostgreSQL instead: an empty database",
    `KAI_DATABASE_URL='postgres://kai:…@db/kai' kai backup restore ${file} --data-dir /var/lib/kai-restored --postgres --passphrase`,
    ...(offsite
      ? [
          "# or straight from the offsite store, on a machine without the backup directory (its config names backup.offsite)",
          `kai backup restore ${id} --offsite --config kai.yaml --data-dir /var/lib/kai-restored --passphrase`,
        ]
      : []),
    ...(vaultUnseal === "key-file"
      ? [
          "# its vault opens with the old node's key file, which no backup carries: copy that node's vault.key in first (mode 0600),",
          "# or the vault stays locked; then start it",
          "install -m 0600 /path/to/the-old-node/vault.key /var/lib/kai-restored/vault.key",
          "kai serve --data-dir /var/lib/kai-restored",
          RESTORED_INTO_POSTGRES,
          "KAI_DATABASE_URL='postgres://kai:…@db/kai' kai serve --data-dir /var/lib/kai-restored",
        ]
      : [
          "# then start it with the vault passphrase from the time of the backup",
          "KAI_VAULT_PASSPHRASE='…' kai serve --data-dir /var/lib/kai-restored",
          RESTORED_INTO_POSTGRES,
          "KAI_DATABASE_URL='postgres://kai:…@db/kai' KAI_VAULT_PASSPHRASE='…' kai serve --data-dir /var/lib/kai-restored",
        ]),
  ];
  return (
    <Panel title="Restoring">
      <p className="mb-2 text-sm text-slate-700 dark:text-slate-300">
        Restoring is done offline, not from this page: it replaces everything a node holds, so it runs with the node stopped, into an
        empty data directory or an empty PostgreSQL database, with the CLI. <code>--passphrase</code> asks for the backup&apos;s passphrase
        (or set KAI_BACKUP_PASSPHRASE). The restore verifies the file first and prints the same comparison as Verify.
      </p>
      <pre tabIndex={0} aria-label="Restore commands" className="overflow-x-auto rounded-md bg-slate-100 p-3 font-mono text-xs text-slate-900 dark:bg-slate-800 dark:text-slate-100">
        <code>{commands.join("\n")}</code>
      </pre>
      <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">Details: docs/operations/backup.md, “Restoring”.</p>
    </Panel>
  );
}
