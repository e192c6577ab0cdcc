/**
 * @module gateway/upstream/call-abort
 * One upstream call's cancellation, the same for both transports (`dispatch` for buffered JSON, `upstream-http`'s
 * `openUpstream` for streams and the rest): the header/body timer, the link to the caller's cancellation (the
 * router's `CancelSignal`, or a web `AbortSignal` from a direct caller), and the first reason we aborted for, which
 * decides the error (`errorFromException`: timeout, stall or client gone).
 *
 * Functions over a small interface rather than a base class: the buffered transport's undici handler and the stream
 * transport's undici signal (an EventEmitter, as undici's `request` requires) are different classes, and a separate
 * helper object per call would be one more allocation on the gateway's hot path.
 */
import type { CallContext } from "../connector.js";
import type { AbortCause } from "./upstream-error.js";

/** What a call keeps to be aborted; `armCall` fills it in, `releaseCall` lets go of it. */
export interface AbortableCall {
  /** The first reason we aborted the call for; undefined while nothing did. */
  cause: AbortCause | undefined;
  timer: NodeJS.Timeout | null;
  /** Removes the listener on the caller's cancellation. */
  detach: (() => void) | null;
  /** Aborts the call: records `why` when it is the first reason, then drops the connection. */
  abort(why: AbortCause): void;
}

/** Whether the caller is already gone (then a call is not even started). */
export function cancelledAlready(context: CallContext): boolean {
  return context.cancel ? context.cancel.aborted : context.signal?.aborted === true;
}

/** Starts `call`'s timer (`timeoutMs`) and links it to the caller's cancellation. */
export function armCall(call: AbortableCall, context: CallContext, timeoutMs: number): void {
  call.timer = setTimeout(onCallTimeout, timeoutMs, call);
  if (context.cancel) call.detach = context.cancel.onAbort(() => call.abort("cancelled"));
  else if (context.signal) {
    const signal = context.signal;
    const onAbort = () => call.abort("cancelled");
    signal.addEventListener("abort", onAbort, { once: true });
    call.detach = () => signal.removeEventListener("abort", onAbort);
  }
}

function onCallTimeout(call: AbortableCall): void {
  call.abort("timeout");
}

/** Stops the timer only (a stream switches to its idle timeout; the caller's cancellation still applies). */
export function stopCallTimer(call: AbortableCall): void {
  if (call.timer) clearTimeout(call.timer);
  call.timer = null;
}

/** The call is over (or aborted): stops the timer and lets go of the caller's cancellation. */
export function releaseCall(call: AbortableCall): void {
  stopCallTimer(call);
  call.detach?.();
  call.detach = null;
}
