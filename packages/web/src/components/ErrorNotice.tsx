/**
 * @module components/ErrorNotice
 * Shows what went wrong in words, with the server's stable error code (people quote it in bug reports, docs
 * explain it: docs/api.md's error table) and the request id when there is one (and the trace id, on a node with
 * tracing on: the Console filters its log lines by it). Never a stack trace.
 */
import { KaiApiError, KaiConnectionError } from "@kai/sdk";

/** One sentence for any error a call can raise. */
export function describeError(error: unknown): { message: string; code?: string; requestId?: string; traceId?: string } {
  if (error instanceof KaiApiError) {
    return { message: error.message, code: error.code, ...(error.requestId ? { requestId: error.requestId } : {}), ...(error.traceId ? { traceId: error.traceId } : {}) };
  }
  if (error instanceof KaiConnectionError) return { message: `The node did not answer: ${error.message}` };
  if (error instanceof Error) return { message: error.message };
  return { message: "Something went wrong." };
}

export function ErrorNotice({ error, title = "That did not work" }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const { message, code, requestId, traceId } = describeError(error);
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
      <p className="font-medium">{title}</p>
      <p>{message}</p>
      {(code || requestId || traceId) && (
        <p className="mt-1 font-mono text-xs opacity-80">
          {code && <span>code {code}</span>}
          {code && requestId && " · "}
          {requestId && <span>request {requestId}</span>}
          {traceId && (code || requestId) && " · "}
          {traceId && <span>trace {traceId}</span>}
        </p>
      )}
    </div>
  );
}
