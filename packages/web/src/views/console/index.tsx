/**
 * @module views/console
 * The Console: the node's log, live (`client.logs`, scope admin). Lines come already redacted from the node's
 * in-memory ring (on a node of several instances, every instance's, and a note naming any that did not answer);
 * filters by level, request, task and service id, and text; pause to read, resume without losing lines (the stream
 * reopens after the last line seen).
 */
import { useState } from "react";
import type { LogFilter } from "@kai/protocol";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Page } from "../../components/Page";
import { ConsoleFilters } from "./ConsoleFilters";
import { LogTable } from "./LogTable";
import { KEEP, useLogStream, type StreamState } from "./use-log-stream";

const STATE_TEXT: Record<StreamState, string> = {
  connecting: "Connecting…",
  live: "Live: new lines appear as the node writes them.",
  paused: "Paused. Resume to catch up; no line is lost.",
  reconnecting: "The stream stopped; reconnecting…",
};

export default function ConsolePage() {
  const [filter, setFilter] = useState<LogFilter>({});
  const [paused, setPaused] = useState(false);
  const { lines, state, error, unanswered, clear } = useLogStream(filter, paused);

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
      <ConsoleFilters filter={filter} onApply={setFilter} />
      <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
        {STATE_TEXT[state]} Showing the last {KEEP} lines at most.
      </p>
      {state === "reconnecting" && <ErrorNotice error={error} title="The log stream broke" />}
      {unanswered.length > 0 && (
        <p role="note" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
          No lines from {unanswered.join(", ")}: {unanswered.length === 1 ? "that instance" : "those instances"} did not answer in time.
        </p>
      )}
      <LogTable lines={lines} onRequest={(requestId) => setFilter({ ...filter, requestId })} />
    </Page>
  );
}
