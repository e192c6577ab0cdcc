/**
 * @module views/playground/ServedBy
 * Which service answered a gateway call and what the gateway itself added (the `x-kai-*` headers the front door
 * sets, read by the SDK): the service and its connector, the upstream attempts (more than one: it failed over),
 * the gateway's overhead in milliseconds, and the request id to find the call in the Console.
 */
import type { ServedInfo } from "@kai/sdk";

export function ServedBy({ served }: { served: ServedInfo | undefined }) {
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
            <dd className="font-mono text-xs">{served.requestId}</dd>
          </>
        )}
      </dl>
    </section>
  );
}
