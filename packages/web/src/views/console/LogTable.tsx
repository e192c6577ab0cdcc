/**
 * @module views/console/LogTable
 * The log lines as a table: time, level (a word, coloured as well: colour is never the only signal), the request
 * (a button that filters the Console to it), the message and the line's other fields; on a node of several
 * instances, which instance wrote it (a button that shows only its lines); when lines carry trace ids (tracing on),
 * the trace (a button that filters to it, and a link to the trace viewer when the node names one: `tracing.traceUrl`). Newest at the bottom, like a terminal; the page follows the end unless the
 * reader scrolled up.
 */
import { useEffect, useRef } from "react";
import { logEntryTraceId, traceLink, type LogEntry } from "@kai/protocol";
import { Badge, type Tone } from "../../components/Badge";
import { When } from "../../components/When";
import type { ConsoleLine } from "./use-log-stream";

const LEVEL_TONES: Record<LogEntry["level"], Tone> = { trace: "neutral", debug: "neutral", info: "good", warn: "warn", error: "bad", fatal: "bad" };

/** The fields but the trace id when the Trace column shows it. */
function fieldsText(fields: Record<string, unknown>, traceShown: boolean): string {
  const entries = Object.entries(fields).filter(([key]) => !(traceShown && key === "trace_id"));
  if (entries.length === 0) return "";
  return entries.map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(" ");
}

/** A line's key: seqs are counted per instance, so two instances' lines may share one. */
function lineKey(entry: LogEntry): string {
  return `${entry.instance ?? ""}:${entry.seq}`;
}

export function LogTable({
  lines,
  onRequest,
  onInstance,
  onTrace,
  traceUrl,
}: {
  lines: ConsoleLine[];
  onRequest(requestId: string): void;
  onInstance(instance: string): void;
  onTrace(traceId: string): void;
  /** The node's `tracing.traceUrl` (`{traceId}` for the id), when it names a trace viewer. */
  traceUrl?: string | undefined;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  // The Instance column only on a node of several instances (its lines name theirs); the Trace column only when some
  // line carries a trace id (a node with tracing on).
  const instances = lines.some((line) => line.kind === "log" && line.entry.instance !== undefined);
  const traces = lines.some((line) => line.kind === "log" && logEntryTraceId(line.entry) !== undefined);
  const columns = 5 + (instances ? 1 : 0) + (traces ? 1 : 0);
  const following = useRef(true);

  useEffect(() => {
    const element = scroller.current;
    if (element && following.current) element.scrollTop = element.scrollHeight;
  }, [lines]);

  return (
    <div
      ref={scroller}
      tabIndex={0}
      aria-label="Log lines, scrollable"
      onScroll={(event) => {
        const element = event.currentTarget;
        following.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
      }}
      className="max-h-[65vh] overflow-auto rounded-lg border border-slate-200 dark:border-slate-700"
    >
      <table className="w-full border-collapse font-mono text-xs">
        <caption className="sr-only">Log lines, oldest first</caption>
        <thead className="sticky top-0 bg-slate-100 text-left dark:bg-slate-800">
          <tr>
            <th scope="col" className="px-2 py-1">Time</th>
            <th scope="col" className="px-2 py-1">Level</th>
            {instances && <th scope="col" className="px-2 py-1">Instance</th>}
            <th scope="col" className="px-2 py-1">Request</th>
            {traces && <th scope="col" className="px-2 py-1">Trace</th>}
            <th scope="col" className="px-2 py-1">Message</th>
            <th scope="col" className="px-2 py-1">Fields</th>
          </tr>
        </thead>
        <tbody>
          {lines.length === 0 && (
            <tr>
              <td colSpan={columns} className="px-2 py-3 font-sans text-sm text-slate-600 dark:text-slate-400">
                No lines match yet.
              </td>
            </tr>
          )}
          {lines.map((line) =>
            line.kind === "gap" ? (
              <tr key={line.key} className="bg-amber-50 dark:bg-amber-950">
                <td colSpan={columns} className="px-2 py-1 font-sans">
                  {line.instance === undefined
                    ? `${line.skipped} line${line.skipped === 1 ? "" : "s"} skipped (the node could not keep them for this page).`
                    : `${line.skipped} line${line.skipped === 1 ? "" : "s"} of ${line.instance} skipped (more matching lines than the cluster relays: narrow the filter).`}
                </td>
              </tr>
            ) : (
              <tr key={lineKey(line.entry)} className="border-t border-slate-100 align-top dark:border-slate-800">
                <td className="whitespace-nowrap px-2 py-1">
                  <When at={line.entry.time} kind="log-time" />
                </td>
                <td className="px-2 py-1">
                  <Badge tone={LEVEL_TONES[line.entry.level]}>{line.entry.level}</Badge>
                </td>
                {instances && (
                  <td className="whitespace-nowrap px-2 py-1">
                    {line.entry.instance !== undefined && (
                      <button type="button" className="text-sky-700 underline dark:text-sky-400" title="Show only this instance's lines" onClick={() => onInstance(line.entry.instance as string)}>
                        {line.entry.instance}
                      </button>
                    )}
                  </td>
                )}
                <td className="px-2 py-1">
                  {line.entry.requestId && (
                    <button type="button" className="text-sky-700 underline dark:text-sky-400" title="Show only this request" onClick={() => onRequest(line.entry.requestId as string)}>
                      {line.entry.requestId}
                    </button>
                  )}
                </td>
                {traces && (
                  <td className="whitespace-nowrap px-2 py-1">
                    <TraceCell traceId={logEntryTraceId(line.entry)} traceUrl={traceUrl} onTrace={onTrace} />
                  </td>
                )}
                <td className="px-2 py-1">{line.entry.msg}</td>
                <td className="break-all px-2 py-1 text-slate-700 dark:text-slate-300">{fieldsText(line.entry.fields, traces)}</td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A line's trace: its id cut to the first 8 digits (a button that shows only that trace's lines; the whole id in its
 * title and accessible name), and "view" opening the trace viewer in a new tab when the node names one.
 */
function TraceCell({ traceId, traceUrl, onTrace }: { traceId: string | undefined; traceUrl: string | undefined; onTrace(traceId: string): void }) {
  if (traceId === undefined) return null;
  const link = traceUrl !== undefined ? traceLink(traceUrl, traceId) : undefined;
  return (
    <>
      <button type="button" className="text-sky-700 underline dark:text-sky-400" title={`Show only trace ${traceId}`} aria-label={`Show only trace ${traceId}`} onClick={() => onTrace(traceId)}>
        {traceId.slice(0, 8)}…
      </button>
      {link !== undefined && (
        <>
          {" "}
          <a href={link} target="_blank" rel="noopener noreferrer" className="text-sky-700 underline dark:text-sky-400" aria-label={`Open trace ${traceId} in the trace viewer`}>
            view
          </a>
        </>
      )}
    </>
  );
}
