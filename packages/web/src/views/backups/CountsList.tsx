/**
 * @module views/backups/CountsList
 * What a backup holds, kind by kind (the counts a take or a verify answers), as a compact list of words and numbers.
 */
import type { BackupCounts } from "@kai/protocol";
import { COUNT_WORDS } from "./backup-words";

export function CountsList({ title, counts }: { title: string; counts: BackupCounts }) {
  return (
    <div>
      <h3 className="mb-1 text-sm font-medium text-slate-800 dark:text-slate-200">{title}</h3>
      <dl className="grid grid-cols-2 gap-x-4 gap-y-0.5 text-sm sm:grid-cols-3 lg:grid-cols-4">
        {COUNT_WORDS.filter((word) => counts[word.kind] !== undefined).map((word) => (
          <div key={word.kind} className="flex justify-between gap-2 border-b border-slate-100 dark:border-slate-800">
            <dt className="text-slate-700 dark:text-slate-300">{word.many}</dt>
            <dd className="font-mono">{counts[word.kind]!.toLocaleString()}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
