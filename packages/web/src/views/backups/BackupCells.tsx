/**
 * @module views/backups/BackupCells
 * The cells of a row of the backups list, each grouping what belongs together so that the list reads at a laptop's
 * 1280 pixels (ten columns of a word or two each were crowded there, and ran off narrower windows):
 * - the backup: its file name, then how its vault opens (a warning badge when only the old node's vault.key opens it,
 *   which no backup carries) and where its copies are;
 * - when it was taken, then by what (the schedule, whose backups `backup.retain` prunes, or a request, kept until
 *   deleted) and from which storage;
 * - its size and whether the artifacts' bytes are in it, then what it holds.
 */
import type { BackupLocation, BackupSummary } from "@kai/protocol";
import { Badge } from "../../components/Badge";
import { sizeWords } from "../../components/size-words";
import { When } from "../../components/When";
import { countsSummary, vaultUnsealWords } from "./backup-words";
import { useBackupCounts } from "./backups-queries";

const SECOND_LINE = "text-xs text-slate-600 dark:text-slate-400";

/**
 * `kai-backup-20261208T000302Z-2ea0v7.kaibak`, on one line from 1280 pixels; in a narrower window it breaks after a
 * hyphen or before `.kaibak` only, so each line is a whole part (the date and time, the random suffix): the text
 * itself offers no break at all, and `break-all` cut it anywhere, four lines of pieces. The parts are inline blocks,
 * which a line may break between, unlike <wbr>, which Chromium breaks at even where `nowrap` says not to.
 */
function FileName({ id }: { id: string }) {
  const parts = `${id}.kaibak`.split(/(?<=-)|(?=\.kaibak$)/);
  return (
    <span className="font-mono xl:whitespace-nowrap" data-testid="backup-file">
      {parts.map((part, index) => (
        <span key={index} className="inline-block">
          {part}
        </span>
      ))}
    </span>
  );
}

/** Where a backup's copies are: the node's backup directory, the offsite store, or both. */
function Where({ locations }: { locations: readonly BackupLocation[] }) {
  if (locations.includes("local") && locations.includes("offsite")) return <Badge tone="good">here and offsite</Badge>;
  return locations.includes("offsite") ? <Badge tone="warn">offsite only</Badge> : <Badge>here only</Badge>;
}

/** The file, then how its vault opens. */
export function BackupName({ backup }: { backup: BackupSummary }) {
  return (
    <div className="space-y-1">
      <FileName id={backup.id} />
      {/* A vault on the key file restores only with that node's vault.key, which no backup carries: warned in its row. */}
      <div className={SECOND_LINE}>
        Vault opens with <Badge tone={backup.vaultUnseal === "key-file" ? "warn" : "neutral"}>{vaultUnsealWords(backup.vaultUnseal)}</Badge>
      </div>
    </div>
  );
}

/** When, then by what and from which storage, then where its copies are. */
export function BackupTaken({ backup }: { backup: BackupSummary }) {
  // Only the schedule's backups are pruned by backup.retain: one taken on request stays until it is deleted.
  const by = backup.scheduled === undefined ? "by: not recorded" : backup.scheduled ? "by the schedule" : "by a request";
  return (
    <div className="space-y-1">
      <div className="whitespace-nowrap">
        <When at={backup.createdAt} />
      </div>
      <div className={SECOND_LINE}>
        {by}, from {backup.sourceBackend}
      </div>
      <Where locations={backup.locations ?? ["local"]} />
    </div>
  );
}

/**
 * Its size and whether the artifacts' bytes are in it, then what it holds: known once this tab has taken or verified
 * it (the counts are inside the encrypted file; the listing reads only its public header).
 */
export function BackupContents({ backup }: { backup: BackupSummary }) {
  const counts = useBackupCounts(backup.id);
  // Never narrower than a badge's words: a table too wide for its window scrolls, and would squeeze this column to a
  // word per line first.
  return (
    <div className="min-w-44 space-y-1">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
        <span className="whitespace-nowrap">{sizeWords(backup.bytes)}</span>
        {backup.withArtifacts ? <Badge tone="good">artifacts&apos; bytes included</Badge> : <Badge>artifacts&apos; bytes not included</Badge>}
      </div>
      {counts ? <div>{countsSummary(counts)}</div> : <div className={SECOND_LINE}>holds: not known yet, verify it to count</div>}
    </div>
  );
}
