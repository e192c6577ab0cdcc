/**
 * @module views/backups/VerifyPanel
 * Verifying one backup (`POST /api/backups/{id}/verify`): the node decrypts it, checks every file's hash, restores it
 * into a scratch database and compares the result kind by kind. The passphrase is asked for (empty: the node's own);
 * a wrong one (`backup_passphrase_wrong`) and a damaged file (`backup_corrupt`) are told apart. The answer shows
 * whether the backup restores, and the comparison row by row; for a backup of a vault on its key file, that its vault
 * opens only with that node's vault.key (the scratch restore proves the data, not that the key file is still kept).
 */
import { useRef, useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import type { BackupVaultUnseal, BackupVerification } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { DataTable, type Column } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { backupErrorTitle } from "./backup-words";
import { useRememberBackup } from "./backups-queries";
import { CountsList } from "./CountsList";
import { clearPassphrase, passphraseProblem, PassphraseField, readPassphrase, Spinner } from "./passphrase";

type CheckRow = BackupVerification["rows"][number];

const CHECK_COLUMNS: Column<CheckRow>[] = [
  { header: "What", cell: (row) => row.kind },
  { header: "In the backup", cell: (row) => <span className="font-mono">{row.expected}</span>, className: "break-all" },
  { header: "Restored", cell: (row) => <span className="font-mono">{row.restored}</span>, className: "break-all" },
  { header: "Check", cell: (row) => (row.ok ? <Badge tone="good">same</Badge> : <Badge tone="bad">different</Badge>) },
];

export function VerifyPanel({ id, vaultUnseal }: { id: string; vaultUnseal?: BackupVaultUnseal | undefined }) {
  const client = useClient();
  const remember = useRememberBackup();
  const form = useRef<HTMLFormElement>(null);
  const [problem, setProblem] = useState<string>();
  const verify = useMutation({
    // As when taking one: the passphrase comes from the field at call time, never through the mutation's variables.
    mutationFn: async () => {
      const passphrase = readPassphrase(form.current);
      try {
        return await client.backups.verify(id, passphrase);
      } finally {
        clearPassphrase(form.current);
      }
    },
    onSuccess: (verification) => remember(verification.id, verification.counts),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = passphraseProblem(form.current);
    setProblem(found);
    if (found === undefined) verify.mutate();
  }

  const result = verify.isPending ? undefined : verify.data;
  return (
    <Panel title={`Verify ${id}`}>
      <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">
        Proves the backup restores: the node decrypts it, checks every file&apos;s hash, restores it into a scratch database and compares
        what it holds kind by kind. Nothing the node serves is touched.
      </p>
      <form ref={form} onSubmit={submit} noValidate aria-label={`Verify ${id}`} className="max-w-xl space-y-3">
        <PassphraseField label="Passphrase of this backup" error={problem} disabled={verify.isPending} />
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" look="primary" busy={verify.isPending}>
            {verify.isPending && <Spinner />}
            Verify
          </Button>
          <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
            {verify.isPending ? "Verifying: decrypting and restoring into a scratch database. This can take a while." : ""}
            {result ? (result.ok ? "Verified: the backup restores." : "The backup does NOT restore as its manifest says.") : ""}
          </p>
        </div>
      </form>
      <div className="mt-3 space-y-3">
        <ErrorNotice error={verify.error} title={backupErrorTitle(verify.error, "The backup could not be verified")} />
        {result && (
          <div className="space-y-3">
            <p className="text-sm">
              {result.ok ? <Badge tone="good">restores</Badge> : <Badge tone="bad">does not restore</Badge>}{" "}
              {`${result.files.toLocaleString()} files, every hash as in the manifest; the scratch restore compared kind by kind below.`}
            </p>
            {result.ok && vaultUnseal === "key-file" && (
              <p role="note" className="text-sm text-amber-900 dark:text-amber-200">
                Its vault opens with the key file of the node it was taken from (vault.key), which the backup does not carry: a restore of it
                needs a copy of that file, or the vault stays locked.
              </p>
            )}
            <CountsList title="What it holds" counts={result.counts} />
            <DataTable label={`Verification of ${id}`} columns={CHECK_COLUMNS} rows={result.rows} rowKey={(row) => row.kind} empty="Nothing was compared." />
          </div>
        )}
      </div>
    </Panel>
  );
}
