/**
 * @module logging/request-scope
 * The id of the request being served, on every log line written while serving it: the lines the node's services
 * write through the node's logger (a backup taken, a vault secret read, a configuration changed, a task started), not
 * only the request's own line. So `kai logs tail --request <id>` (and the web Console's filter) shows what one request
 * did, which is what a person filtering by a request id expects; before, it found the request's line alone.
 *
 * Node's `AsyncLocalStorage` carries the id through the request's asynchronous work (hand-written here rather than
 * `@fastify/request-context`, which wraps the same call in a plugin: the pino mixin in `logger.ts` reads it, and the
 * logging folder must not depend on Fastify). The request's own logger (Fastify's child, `http/request-log.ts`) binds
 * the id already; its lines are marked so that the mixin does not write the field twice.
 *
 * Work a request starts that outlives it (a task it started, a WebSocket it opened) keeps its id, as OpenTelemetry's
 * context keeps the request's trace: that is where the work came from.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const scope = new AsyncLocalStorage<string>();
/** Loggers whose bindings carry the request id already (a request's own child logger and its children). */
const boundToRequest = new WeakSet<object>();

/** Runs `next` (and the asynchronous work it starts) as the serving of request `requestId`. */
export function runInRequestScope(requestId: string, next: () => void): void {
  scope.run(requestId, next);
}

/**
 * Runs `next` (and the asynchronous work it starts) as serving no request. For machinery shared by every request that
 * one request merely happens to wake first: OpenTelemetry's batch export, whose timer is set while some request ends
 * its span, would otherwise write its lines (an export failing, working again) with that unrelated request's id.
 */
export function outsideRequestScope<T>(next: () => T): T {
  return scope.exit(next);
}

/** Marks `logger` as one whose bindings carry its request's id. */
export function markBoundToRequest(logger: object): void {
  boundToRequest.add(logger);
}

/**
 * The fields the log line of `logger` gets from the request being served: its id, unless the logger binds it itself
 * or no request is being served.
 */
export function requestScopeFields(logger: object): { requestId?: string } {
  const requestId = scope.getStore();
  return requestId === undefined || boundToRequest.has(logger) ? {} : { requestId };
}
