/**
 * @module views/backups/BackupsPanel
 * The backups in the node's backup directory and offsite store, newest first (`GET /api/backups`), four columns
 * (BackupCells: what each groups): the backup (file name, what its restored vault opens with: its passphrase, or the
 * node's vault.key, which no backup carries; where its copies are), when and by what it was taken, its size and
 * contents, and what can be done with it. The listing reads only each file's public header, so a backup's counts show
 * once this tab has taken or verified it (the counts are inside the encrypted file). "Verify" opens the verification
 * of one backup below the list; "Download" saves its file (encrypted, as the node keeps it), to keep elsewhere or
 * restore on another machine; "Delete" removes its file from the node, once confirmed.
 */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { BackupSummary } from "@kai/protocol";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable, type Column } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { BackupContents, BackupName, BackupTaken } from "./BackupCells";
import { backupKeys, useBackupList } from "./backups-queries";
import { useClient } from "../../app/session";
import { saveDownload } from "../../components/save-download";
import { VerifyPanel } from "./VerifyPanel";

export function BackupsPanel() {
  const client = useClient();
  const list = useBackupList();
  const download = useMutation({
    mutationFn: async (id: string) => {
      const file = await client.backups.download(id);
      await saveDownload(file.body, file.fileName);
    },
  });
  const queries = useQueryClient();
  /** The backup whose deletion is being confirmed. */
  const [deleting, setDeleting] = useState<string>();
  const remove = useMutation({
    mutationFn: (id: string) => client.backups.delete(id),
    onSuccess: async () => {
      setDeleting(undefined);
      await queries.invalidateQueries({ queryKey: backupKeys.list });
    },
  });
  const [open, setOpen] = useState<string>();
  const backups = list.data?.backups ?? [];
  // A backup no longer listed (deleted by the schedule's retention) has nothing left to verify.
  const verifying = open !== undefined && backups.some((backup) => backup.id === open) ? open : undefined;

  const columns: Column<BackupSummary>[] = [
    { header: "Backup", cell: (backup) => <BackupName backup={backup} />, className: "font-normal" },
    { header: "Taken", cell: (backup) => <BackupTaken backup={backup} /> },
    { header: "Size and contents", cell: (backup) => <BackupContents backup={backup} /> },
    // The buttons in one row from 1280 pixels (wrapped under each other, they made every row three buttons tall).
    {
      header: "Actions",
      cell: (backup) => (
        <div className="flex flex-wrap gap-2 xl:flex-nowrap">
          <Button onClick={() => setOpen(verifying === backup.id ? undefined : backup.id)} aria-expanded={verifying === backup.id} aria-label={`Verify ${backup.id}`}>
            Verify
          </Button>
          <Button busy={download.isPending && download.variables === backup.id} onClick={() => download.mutate(backup.id)} aria-label={`Download ${backup.id}`}>
            Download
          </Button>
          <Button look="danger" onClick={() => setDeleting(backup.id)} aria-label={`Delete ${backup.id}`}>
            Delete
          </Button>
        </div>
      ),
    },
  ];

  return (
    <div className="space-y-4">
      <Panel title="Backups">
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          <p className="text-sm text-slate-700 dark:text-slate-300">
            The backups in the node&apos;s backup directory (backup.dir) and its offsite store (backup.offsite), newest first. One kept only offsite is
            fetched back by the node to be verified or downloaded.
          </p>
          <Button busy={list.isFetching} onClick={() => void list.refetch()}>
            Refresh
          </Button>
        </div>
        <ErrorNotice error={list.error} title="The backups could not be listed" />
        {list.data?.offsiteError !== undefined && (
          <p role="alert" className="text-sm text-amber-900 dark:text-amber-200">
            The offsite store could not be listed, so only the backup directory&apos;s backups are shown: {list.data.offsiteError}
          </p>
        )}
        <ErrorNotice error={download.error} title="The backup could not be downloaded" />
        <ErrorNotice error={remove.error} title="The backup could not be deleted" />
        {/* After a failed read, no table: "no backups" would be a claim the page cannot make. */}
        {list.isPending && <p role="status">Loading…</p>}
        {list.data && (
          <DataTable
            label="Backups"
            columns={columns}
            rows={backups}
            rowKey={(backup) => backup.id}
            rowTestId={(backup) => `backup-${backup.id}`}
            empty="No backups yet: take one now, or let the schedule take them (backup.schedule)."
          />
        )}
      </Panel>
      {verifying !== undefined && <VerifyPanel key={verifying} id={verifying} vaultUnseal={backups.find((backup) => backup.id === verifying)?.vaultUnseal} />}
      <ConfirmDialog
        open={deleting !== undefined}
        title="Delete this backup?"
        confirmLabel="Delete backup"
        busy={remove.isPending}
        onConfirm={() => deleting !== undefined && remove.mutate(deleting)}
        onCancel={() => setDeleting(undefined)}
      >
        <p>
          <span className="font-mono">{deleting}.kaibak</span> is removed from the node&apos;s backup directory and its offsite store. A
          copy downloaded elsewhere is not touched.
        </p>
      </ConfirmDialog>
    </div>
  );
}
