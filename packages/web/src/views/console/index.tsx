/**
 * @module views/console
 * The Console: the node's log, live (`client.logs`, scope admin). Lines come already redacted from the node's
 * in-memory ring (on a node of several instances, every instance's, and a note naming any that did not answer, or
 * one instance's, chosen by name); filters by level, request, task, service and trace id, and text (a trace's lines
 * link to the trace viewer the node names; a link may name the filter: `/console?taskId=…`); "Search files" for older
 * lines in the node's log files (every instance's, or the one chosen, as live; a line's instance button chooses it in
 * either view); pause to read, resume without losing lines (the stream reopens after the last line seen).
 */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { LogFilterSchema, type LogFilter } from "@kai/protocol";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField } from "../../components/Field";
import { useClient } from "../../app/session";
import { Page } from "../../components/Page";
import { ConsoleFilters } from "./ConsoleFilters";
import { LogTable } from "./LogTable";
import { FileSearch } from "./FileSearch";
import { KEEP, useLogStream, type StreamState } from "./use-log-stream";

const STATE_TEXT: Record<StreamState, string> = {
  connecting: "Connecting…",
  live: "Live: new lines appear as the node writes them.",
  paused: "Paused. Resume to catch up; no line is lost.",
  reconnecting: "The stream stopped; reconnecting…",
};

/** How often the list of instances to choose from is read again (instances join and leave). */
const INSTANCES_REFRESH_MS = 30_000;

/** The filters a link to the Console may name. */
const LINKED_FILTERS = ["requestId", "taskId", "serviceId", "traceId", "log"] as const;

/**
 * The filter a link to the Console names (`/console?taskId=…` from a task's page, `?traceId=…` or `?requestId=…` from
 * the playground, `?log=security`): checked like a typed one, and none when it is not valid.
 */
function filterFromLink(params: URLSearchParams): LogFilter {
  const named = Object.fromEntries(LINKED_FILTERS.flatMap((key) => (params.get(key) ? [[key, params.get(key)!.trim()]] : [])));
  const parsed = LogFilterSchema.safeParse(named);
  return parsed.success ? parsed.data : {};
}

export default function ConsolePage() {
  const client = useClient();
  const [params] = useSearchParams();
  const [filter, setFilter] = useState<LogFilter>(() => filterFromLink(params));
  const [paused, setPaused] = useState(false);
  /** "Search files": the filter searched for in the log files; null while the live view shows. */
  const [filesFilter, setFilesFilter] = useState<LogFilter | null>(null);
  /** One instance's lines (its name), or every instance's (""). */
  const [instance, setInstance] = useState("");
  const cluster = useQuery({ queryKey: ["cluster"], queryFn: () => client.cluster(), refetchInterval: INSTANCES_REFRESH_MS });
  // The choice only where there is one to make; a chosen instance stays listed after it left (its lines say so: none).
  const names = [...new Set([...(cluster.data?.instances.map((member) => member.name) ?? []), ...(instance ? [instance] : [])])].sort();
  // The stream rests while the file search shows (it resumes from the last line seen, losing none).
  const { lines, state, error, unanswered, traceUrl, clear } = useLogStream(filter, paused || filesFilter !== null, instance || undefined);

  return (
    <Page
      title="Console"
      actions={
        <>
          <Button onClick={() => setPaused((value) => !value)}>{paused ? "Resume" : "Pause"}</Button>
          <Button onClick={clear}>Clear page</Button>
        </>
      }
    >
      <ConsoleFilters
        filter={filter}
        onApply={(next) => {
          setFilesFilter(null);
          setFilter(next);
        }}
        onSearchFiles={(next) => {
          setFilter(next);
          setFilesFilter(next);
        }}
      />
      {names.length > 1 && (
        <div className="max-w-xs">
          <SelectField label="Instance" value={instance} onChange={(event) => setInstance(event.target.value)}>
            <option value="">Every instance</option>
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </SelectField>
        </div>
      )}
      {filesFilter !== null ? (
        <FileSearch
          filter={filesFilter}
          instance={instance || undefined}
          onInstance={setInstance}
          onBack={() => setFilesFilter(null)}
          onTrace={(traceId) => {
            const next = { ...filesFilter, traceId };
            setFilter(next);
            setFilesFilter(next);
          }}
          onRequest={(requestId) => {
            const next = { ...filesFilter, requestId };
            setFilter(next);
            setFilesFilter(next);
          }}
        />
      ) : (
        <>
          <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
            {STATE_TEXT[state]} Showing the last {KEEP} lines at most.
          </p>
          {state === "reconnecting" && <ErrorNotice error={error} title="The log stream broke" />}
          {unanswered.length > 0 && (
            <p role="note" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
              No lines from {unanswered.join(", ")}: {unanswered.length === 1 ? "that instance" : "those instances"} did not answer in time.
            </p>
          )}
          <LogTable
            lines={lines}
            onRequest={(requestId) => setFilter({ ...filter, requestId })}
            onInstance={setInstance}
            onTrace={(traceId) => setFilter({ ...filter, traceId })}
            traceUrl={traceUrl}
          />
        </>
      )}
    </Page>
  );
}
