/**
 * @module views/backups/backups-queries
 * Backups' server data in the React Query cache under `["backups", …]`: the listing (`GET /api/backups`, newest
 * first, in the backup directory and the offsite store) and what is known of each backup's contents. The listing carries only a backup's readable header (id, time,
 * node, size, whether the artifacts' bytes are in it): its counts are inside the encrypted file, so the node answers
 * them only when it takes a backup or verifies one. Those answers are kept here by backup id, so the list shows the
 * counts of every backup taken or verified in this tab.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { BackupCounts } from "@kai/protocol";
import { useClient } from "../../app/session";

export const backupKeys = {
  all: ["backups"] as const,
  list: ["backups", "list"] as const,
  counts: (id: string) => ["backups", "counts", id] as const,
};

export function useBackupList() {
  const client = useClient();
  return useQuery({ queryKey: backupKeys.list, queryFn: () => client.backups.listing() });
}

/** The counts of backup `id`, once a take or a verify in this tab told them (never fetched: there is no call for it). */
export function useBackupCounts(id: string): BackupCounts | undefined {
  const queries = useQueryClient();
  const { data } = useQuery<BackupCounts | null>({ queryKey: backupKeys.counts(id), queryFn: () => queries.getQueryData<BackupCounts>(backupKeys.counts(id)) ?? null, enabled: false, staleTime: Infinity, gcTime: Infinity });
  return data ?? undefined;
}

/** Remembers what a take or a verify said backup `id` holds, and reads the listing again. */
export function useRememberBackup(): (id: string, counts: BackupCounts) => Promise<void> {
  const queries = useQueryClient();
  return async (id, counts) => {
    queries.setQueryData(backupKeys.counts(id), counts);
    await queries.invalidateQueries({ queryKey: backupKeys.list });
  };
}
