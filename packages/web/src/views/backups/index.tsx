/**
 * @module views/backups
 * Backups (issue 19) at `/backups` (backup:admin): the backups in the node's backup directory, taking one now,
 * verifying one by a scratch restore, and how to restore (offline, with the CLI: there is no restore over the API).
 * docs/operations/backup.md.
 */
import { Page } from "../../components/Page";
import { BackupsPanel } from "./BackupsPanel";
import { useBackupList } from "./backups-queries";
import { RestoreNote } from "./RestoreNote";
import { TakeBackupPanel } from "./TakeBackupPanel";

export default function BackupsArea() {
  const list = useBackupList();
  return (
    <Page title="Backups">
      <TakeBackupPanel />
      <BackupsPanel />
      <RestoreNote newest={list.data?.backups[0]?.id} vaultUnseal={list.data?.backups[0]?.vaultUnseal} offsite={list.data?.backups.some((backup) => backup.locations?.includes("offsite")) ?? false} />
    </Page>
  );
}
