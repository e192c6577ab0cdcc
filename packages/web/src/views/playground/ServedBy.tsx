/**
 * @module views/playground/ServedBy
 * Which service answered a gateway call and what the gateway itself added (the `x-kai-*` headers the front door
 * sets, read by the SDK): the service and its connector, the upstream attempts (more than one: it failed over),
 * the gateway's overhead in milliseconds, the request id and (on a node that traces) the trace id, each a link to the
 * call's log lines in the Console for an admin.
 */
import { Link } from "react-router";
import type { ServedInfo } from "@kai/sdk";
import { useCan } from "../../app/session";

const LINK = "ml-2 text-sky-800 underline dark:text-sky-300";

export function ServedBy({ served }: { served: ServedInfo | undefined }) {
  // The Console is for admins (the node's log lines).
  const canReadLogs = useCan("admin");
  if (!served) return null;
  return (
    <section aria-label="Served by" className="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm dark:border-slate-700 dark:bg-slate-800">
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
        <dt className="font-medium">Answered by</dt>
        <dd>
          <span className="font-mono">{served.serviceId || "unknown"}</span>
          {served.servedBy.provider && <span> ({served.servedBy.provider})</span>}
        </dd>
        <dt className="font-medium">Gateway overhead</dt>
        <dd>{served.overheadMs.toFixed(2)} ms</dd>
        <dt className="font-medium">Attempts</dt>
        <dd>{served.attempts}</dd>
        {served.requestId && (
          <>
            <dt className="font-medium">Request id</dt>
            <dd>
              <span className="font-mono text-xs">{served.requestId}</span>
              {canReadLogs && (
                <Link to={`/console?requestId=${encodeURIComponent(served.requestId)}`} className={LINK}>
                  log lines
                </Link>
              )}
            </dd>
          </>
        )}
        {served.traceId && (
          <>
            <dt className="font-medium">Trace id</dt>
            <dd>
              <span className="font-mono text-xs">{served.traceId}</span>
              {canReadLogs && (
                <Link to={`/console?traceId=${served.traceId}`} className={LINK}>
                  log lines of the trace
                </Link>
              )}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
