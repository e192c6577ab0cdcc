/**
 * @module views/backups/BackupsPanel
 * The backups in the node's backup directory, newest first (`GET /api/backups`): file name, when and by what it was
 * taken (the schedule, whose backups `backup.retain` prunes, or a request, kept until deleted), size,
 * what it holds and whether the artifacts' bytes are in it. The listing reads only each file's public header, so a
 * backup's counts show once this tab has taken or verified it (the counts are inside the encrypted file). "Verify"
 * opens the verification of one backup below the list; "Download" saves its file (encrypted, as the node keeps it), to
 * keep elsewhere or restore on another machine; "Delete" removes its file from the node, once confirmed. "Vault opens
 * with" says what the restored vault needs: its passphrase, or the node's vault.key, which no backup carries.
 */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { BackupLocation, BackupSummary } from "@kai/protocol";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable, type Column } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { countsSummary, vaultUnsealWords } from "./backup-words";
import { sizeWords } from "../../components/size-words";
import { backupKeys, useBackupCounts, useBackupList } from "./backups-queries";
import { useClient } from "../../app/session";
import { saveDownload } from "../../components/save-download";
import { VerifyPanel } from "./VerifyPanel";

/** Where a backup's copies are: the node's backup directory, the offsite store, or both. */
function Where({ locations }: { locations: readonly BackupLocation[] }) {
  if (locations.includes("local") && locations.includes("offsite")) return <Badge tone="good">here and offsite</Badge>;
  return locations.includes("offsite") ? <Badge tone="warn">offsite only</Badge> : <Badge>here only</Badge>;
}

function Holds({ id }: { id: string }) {
  const counts = useBackupCounts(id);
  if (!counts) return <span className="text-slate-600 dark:text-slate-400">not known yet: verify it to count</span>;
  return <span>{countsSummary(counts)}</span>;
}

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
    { header: "File", cell: (backup) => <span className="font-mono">{`${backup.id}.kaibak`}</span>, className: "font-normal break-all" },
    { header: "Taken", cell: (backup) => <When at={backup.createdAt} /> },
    // Only the schedule's backups are pruned by backup.retain: one taken on request stays until it is deleted.
    { header: "Taken by", cell: (backup) => (backup.scheduled === undefined ? "not recorded" : backup.scheduled ? "the schedule" : "a request"), className: "whitespace-nowrap" },
    { header: "Size", cell: (backup) => sizeWords(backup.bytes), className: "whitespace-nowrap" },
    { header: "Holds", cell: (backup) => <Holds id={backup.id} />, className: "max-w-sm" },
    {
      header: "Artifacts' bytes",
      cell: (backup) => (backup.withArtifacts ? <Badge tone="good">included</Badge> : <Badge>not included</Badge>),
    },
    // A vault on the key file restores only with that node's vault.key, which no backup carries: said where it is chosen.
    {
      header: "Vault opens with",
      cell: (backup) => (backup.vaultUnseal === "key-file" ? <Badge tone="warn">{vaultUnsealWords(backup.vaultUnseal)}</Badge> : vaultUnsealWords(backup.vaultUnseal)),
    },
    { header: "From", cell: (backup) => backup.sourceBackend },
    { header: "Where", cell: (backup) => <Where locations={backup.locations ?? ["local"]} />, className: "whitespace-nowrap" },
    {
      header: "Actions",
      cell: (backup) => (
        <div className="flex flex-wrap gap-2">
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
