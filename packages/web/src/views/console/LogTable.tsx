/**
 * @module views/console/LogTable
 * The log lines as a table: time, level (a word, coloured as well: colour is never the only signal), the request
 * (a button that filters the Console to it), the message and the line's other fields; on a node of several
 * instances, which instance wrote it (a button that shows only its lines). Newest at the bottom, like a terminal; the page follows the end unless the
 * reader scrolled up.
 */
import { useEffect, useRef } from "react";
import type { LogEntry } from "@kai/protocol";
import { Badge, type Tone } from "../../components/Badge";
import type { ConsoleLine } from "./use-log-stream";

const LEVEL_TONES: Record<LogEntry["level"], Tone> = { trace: "neutral", debug: "neutral", info: "good", warn: "warn", error: "bad", fatal: "bad" };

function time(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(undefined, { hour12: false }) + `.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

function fieldsText(fields: Record<string, unknown>): string {
  const entries = Object.entries(fields);
  if (entries.length === 0) return "";
  return entries.map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(" ");
}

/** A line's key: seqs are counted per instance, so two instances' lines may share one. */
function lineKey(entry: LogEntry): string {
  return `${entry.instance ?? ""}:${entry.seq}`;
}

export function LogTable({ lines, onRequest, onInstance }: { lines: ConsoleLine[]; onRequest(requestId: string): void; onInstance(instance: string): void }) {
  const scroller = useRef<HTMLDivElement>(null);
  // The Instance column only on a node of several instances (its lines name theirs).
  const instances = lines.some((line) => line.kind === "log" && line.entry.instance !== undefined);
  const columns = instances ? 6 : 5;
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
                  <time dateTime={line.entry.time}>{time(line.entry.time)}</time>
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
                <td className="px-2 py-1">{line.entry.msg}</td>
                <td className="break-all px-2 py-1 text-slate-700 dark:text-slate-300">{fieldsText(line.entry.fields)}</td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}
