/**
 * @module tracing/reporting-exporter
 * Says in the node's log when spans cannot be exported, and when export works again. OpenTelemetry's batch processor
 * hands a failed export to its global error handler, which writes to its diagnostic logger: silent unless set
 * process-wide, so a node pointed at a collector that is down or refuses it dropped every span without a word. Here the first failure is a
 * warning naming the endpoint and the reason, later failures are counted but not logged until an export succeeds
 * (one line then says how many batches were lost), so a collector that stays down costs one line, not one a second.
 */
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../logging/logger.js";
import { outsideRequestScope } from "../logging/request-scope.js";

/** Where spans go, for a log line: scheme, host and path only (no user, password or query, which may hold a key). */
export function endpointForLog(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return "(an endpoint that is not a URL)";
  }
}

/** A failed export's reason, short: the error's code when it has one (ECONNREFUSED), else its first line, cut. */
function reasonOf(error: Error | undefined): string {
  if (error === undefined) return "unknown";
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  const named = typeof code === "string" ? code : typeof cause === "string" ? cause : undefined;
  const message = (error.message.split("\n", 1)[0] ?? "").slice(0, 200);
  return named !== undefined && !message.includes(named) ? `${message} (${named})` : message || "unknown";
}

/** Export failing since `since` (the first failed batch), for the first failure's `reason`; `droppedSpans` since. */
export interface ExportTrouble {
  since: string;
  reason: string;
  droppedSpans: number;
}

/** `inner` with its failures (and its recovery) said once in `logger`; `trouble()` says whether export fails now. */
export function reportingExporter(inner: SpanExporter, endpoint: string, logger: Logger): SpanExporter & { trouble(): ExportTrouble | undefined } {
  const where = endpointForLog(endpoint);
  let failedBatches = 0;
  let droppedSpans = 0;
  let failing: { since: string; reason: string } | undefined;
  const note = (result: ExportResult, spans: number) => {
    if (result.code === ExportResultCode.SUCCESS) {
      if (failedBatches > 0) logger.info({ endpoint: where, failedBatches, droppedSpans }, "tracing: spans are exported again");
      failedBatches = 0;
      droppedSpans = 0;
      failing = undefined;
      return;
    }
    if (failedBatches === 0) {
      const reason = reasonOf(result.error);
      failing = { since: new Date().toISOString(), reason };
      logger.warn({ endpoint: where, spans, reason }, "tracing: spans could not be exported (said once until an export succeeds)");
    }
    failedBatches++;
    droppedSpans += spans;
  };
  return {
    trouble: () => (failing === undefined ? undefined : { ...failing, droppedSpans }),
    export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
      // Outside any span and any request: the export runs in whatever context its timer was set in (while some
      // request ended its span), and its lines would otherwise carry that unrelated request's trace id and request id.
      outsideRequestScope(() =>
        inner.export(spans, (result) => {
          context.with(ROOT_CONTEXT, () => note(result, spans.length));
          resultCallback(result);
        }),
      );
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}
