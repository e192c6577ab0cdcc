/**
 * @module views/backups/TakeBackupPanel
 * "Take a backup now" (`POST /api/backups`): an optional passphrase and whether the artifacts' bytes go in too. A
 * backup of a large node takes a while (the database is copied, archived and encrypted), so the button stays
 * disabled with a spinner and a status line until the node answers; then the result says what the backup holds, or
 * the error says why there is none.
 */
import { useRef, useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { backupErrorTitle } from "./backup-words";
import { sizeWords } from "../../components/size-words";
import { CountsList } from "./CountsList";
import { useRememberBackup } from "./backups-queries";
import { clearPassphrase, passphraseProblem, PassphraseField, readPassphrase, Spinner } from "./passphrase";

export function TakeBackupPanel() {
  const client = useClient();
  const remember = useRememberBackup();
  const form = useRef<HTMLFormElement>(null);
  const [problem, setProblem] = useState<string>();
  const take = useMutation({
    // The passphrase is read from the field here, not passed as the mutation's variables (which the cache keeps).
    mutationFn: async ({ withArtifacts }: { withArtifacts: boolean }) => {
      const passphrase = readPassphrase(form.current);
      try {
        return await client.backups.create({ ...(passphrase !== undefined ? { passphrase } : {}), withArtifacts });
      } finally {
        clearPassphrase(form.current);
      }
    },
    onSuccess: (created) => remember(created.id, created.counts),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = passphraseProblem(form.current);
    setProblem(found);
    if (found !== undefined) return;
    const withArtifacts = (form.current?.elements.namedItem("withArtifacts") as HTMLInputElement | null)?.checked === true;
    take.mutate({ withArtifacts });
  }

  return (
    <Panel title="Take a backup now">
      <form ref={form} onSubmit={submit} noValidate aria-label="Take a backup" className="max-w-xl space-y-3">
        <PassphraseField label="Backup passphrase" error={problem} disabled={take.isPending} />
        <div className="flex items-center gap-2">
          <input id="backup-with-artifacts" name="withArtifacts" type="checkbox" disabled={take.isPending} className="h-4 w-4" />
          <label htmlFor="backup-with-artifacts" className="text-sm">
            Include the artifacts&apos; bytes (bigger; without them a restore needs the old artifact store)
          </label>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" look="primary" busy={take.isPending}>
            {take.isPending && <Spinner />}
            Take backup now
          </Button>
          <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
            {take.isPending ? "Taking the backup: the node copies, archives and encrypts everything it holds. This can take a while." : ""}
          </p>
        </div>
      </form>
      <div className="mt-3 space-y-3">
        <ErrorNotice error={take.error} title={backupErrorTitle(take.error, "No backup was taken")} />
        {take.data && !take.isPending && (
          <div className="space-y-2" aria-label="The backup taken" role="group">
            <p className="text-sm">
              <span className="font-medium">Backup taken:</span> <span className="font-mono">{take.data.id}</span>, <When at={take.data.createdAt} />,{" "}
              {sizeWords(take.data.bytes)}, {take.data.withArtifacts ? "with the artifacts' bytes" : "without the artifacts' bytes"}
              {take.data.locations?.includes("offsite") ? ", copied offsite" : ""}.
            </p>
            {take.data.offsiteError !== undefined && (
              <p role="alert" className="text-sm text-amber-900 dark:text-amber-200">
                Its offsite copy failed, so it is kept in the node&apos;s backup directory only: {take.data.offsiteError}
              </p>
            )}
            {/* Worded as the CLI prints them ("warning: …"): what the restore needs beyond the passphrase. */}
            {(take.data.warnings ?? []).map((warning) => (
              <p key={warning} role="alert" className="text-sm text-amber-900 dark:text-amber-200">
                <span className="font-medium">Warning:</span> {warning}
              </p>
            ))}
            <CountsList title="What it holds" counts={take.data.counts} />
          </div>
        )}
      </div>
    </Panel>
  );
}
