/**
 * @module views/console/use-log-stream
 * The Console's live lines: the newest ones first (`client.logs.list`), then the stream from the last one seen
 * (`client.logs.stream` with `after`), so nothing is missed or shown twice. When the node ends the stream (at the
 * expiry of the token it was opened with) it is opened again at once, from the last line seen; when it breaks, after
 * a pause. At most `KEEP` lines stay in memory: the page is for what is
 * happening now, the node keeps a longer ring and the log file keeps everything. On a node of several instances the
 * lines are every live instance's, or one instance's (`instance`, by name); the stream resumes from the answering
 * instance's own (another instance's lines are relayed from its next line on).
 */
import { useEffect, useRef, useState } from "react";
import type { LogEntry, LogFilter } from "@kai/protocol";
import { useClient } from "../../app/session";

/** Lines kept on the page. */
export const KEEP = 1000;
/** Lines read at the start. */
const FIRST = 200;
const RETRY_MS = 2000;

/** A line, or a note that the node skipped lines (a slow reader, or a resume the ring no longer reached). */
export type ConsoleLine = { kind: "log"; entry: LogEntry } | { kind: "gap"; skipped: number; key: string; instance?: string };

export type StreamState = "connecting" | "live" | "paused" | "reconnecting";

export function useLogStream(
  filter: LogFilter,
  paused: boolean,
  instance?: string,
): { lines: ConsoleLine[]; state: StreamState; error: unknown; unanswered: string[]; traceUrl: string | undefined; clear(): void } {
  const client = useClient();
  const [lines, setLines] = useState<ConsoleLine[]>([]);
  const [state, setState] = useState<StreamState>("connecting");
  const [error, setError] = useState<unknown>(null);
  /** On a node of several instances: those that did not answer the first read in time (their earlier lines are missing). */
  const [unanswered, setUnanswered] = useState<string[]>([]);
  /** The node's trace viewer link (`tracing.traceUrl`), as the last listing said. */
  const [traceUrl, setTraceUrl] = useState<string | undefined>(undefined);
  const filterKey = JSON.stringify([filter, instance ?? null]);
  const only = instance === undefined ? {} : { instance };
  /** The newest line seen: a stream (re)opens after it. Kept across a pause; a new filter starts over. */
  const lastSeq = useRef<number | undefined>(undefined);

  // Declared before the stream's effect, so it runs first when the filter changes.
  useEffect(() => {
    setLines([]);
    lastSeq.current = undefined;
  }, [filterKey]);

  useEffect(() => {
    if (paused) {
      setState("paused");
      return;
    }
    const controller = new AbortController();
    const signal = controller.signal;
    const add = (more: ConsoleLine[]) => setLines((before) => [...before, ...more].slice(-KEEP));
    let gaps = 0;

    async function run() {
      setState("connecting");
      while (!signal.aborted) {
        try {
          if (lastSeq.current === undefined) {
            const recent = await client.logs.list({ ...filter, ...only, limit: FIRST }, { signal });
            add(recent.entries.map((entry) => ({ kind: "log" as const, entry })));
            setUnanswered(recent.unanswered ?? []);
            setTraceUrl(recent.traceUrl);
            // A relayed line (another instance's, on a node of several) counts that instance's seq: not a resume point.
            lastSeq.current = recent.entries.filter((entry) => !entry.relayed).at(-1)?.seq ?? recent.latestSeq;
          }
          // Resuming (after a pause or a break): the lines since the last one seen come first.
          const events = await client.logs.stream({ ...filter, ...only, after: lastSeq.current }, { signal });
          setState("live");
          setError(null);
          for await (const event of events) {
            if (event.type === "log") {
              if (!event.entry.relayed) lastSeq.current = event.entry.seq;
              add([{ kind: "log", entry: event.entry }]);
            } else add([{ kind: "gap", skipped: event.skipped, key: `gap-${++gaps}`, ...(event.instance !== undefined ? { instance: event.instance } : {}) }]);
          }
          // The node ended the stream (it does when the token it was opened with expires): reopen at once.
          if (signal.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        } catch (failure) {
          if (signal.aborted) return;
          setError(failure);
        }
        if (signal.aborted) return;
        setState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    void run();
    return () => controller.abort();
    // filterKey stands for filter's contents and the instance.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, filterKey, paused]);

  return { lines, state, error, unanswered, traceUrl, clear: () => setLines([]) };
}
