/**
 * @module views/console/FileSearch
 * The Console's "Search files": the node's log files searched for the filter (`client.logs.search`: on a node of several
 * instances, every live instance's files, or the chosen instance's), for lines older than the live view holds (yesterday's trace). Not live: one answer, newest matches
 * oldest first, with how many files were read and whether the node stopped at its read budget.
 */
import { useQuery } from "@tanstack/react-query";
import type { LogFilter } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { LogTable } from "./LogTable";

/** Lines asked for (the API's most is 1000). */
const LIMIT = 500;

export function FileSearch({
  filter,
  instance,
  onInstance,
  onTrace,
  onRequest,
  onBack,
}: {
  filter: LogFilter;
  /** Only this instance's files (its name); every live instance's when undefined. */
  instance?: string | undefined;
  onInstance(instance: string): void;
  onTrace(traceId: string): void;
  onRequest(requestId: string): void;
  onBack(): void;
}) {
  const client = useClient();
  const search = useQuery({
    queryKey: ["logs", "search", filter, instance ?? ""],
    queryFn: ({ signal }) => client.logs.search({ ...filter, limit: LIMIT, ...(instance ? { instance } : {}) }, { signal }),
  });
  const found = search.data;
  // On a node of several instances every live instance searches its own files.
  const whose = found ? (found.searched ? found.searched.map((each) => each.instance).join(", ") : found.instance) : "";
  return (
    <section aria-label="Log files" className="flex flex-col gap-2">
      <div className="flex items-center gap-3">
        <h2 className="text-sm font-semibold">Log files</h2>
        <Button onClick={onBack}>Back to live</Button>
      </div>
      <ErrorNotice error={search.error} title="The log files could not be searched" />
      {search.isPending && <p role="status">Searching the log files…</p>}
      {found && (
        <>
          <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
            {found.entries.length} matching line{found.entries.length === 1 ? "" : "s"} from the log files of {whose || "no instance"} ({found.files} file{found.files === 1 ? "" : "s"} read
            {found.entries.length === LIMIT ? `; the newest ${LIMIT}` : ""}).
          </p>
          {found.unanswered && found.unanswered.length > 0 && (
            <p role="note" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
              No lines from {found.unanswered.join(", ")}: {found.unanswered.length === 1 ? "that instance" : "those instances"} did not answer in time.
            </p>
          )}
          {!found.complete && (
            <p role="note" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
              The node stopped at its read budget: lines before {found.searchedFrom ?? "the files it read"} were not searched. Narrow the time with the Since filter.
            </p>
          )}
          <LogTable lines={found.entries.map((entry) => ({ kind: "log" as const, entry }))} onRequest={onRequest} onInstance={onInstance} onTrace={onTrace} traceUrl={found.traceUrl} />
        </>
      )}
    </section>
  );
}
