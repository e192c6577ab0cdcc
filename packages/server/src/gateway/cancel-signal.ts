/**
 * @module gateway/cancel-signal
 * A one-shot cancellation that costs next to nothing until it is used: listeners live in a plain array, and
 * an `AbortSignal` is only created for the few consumers that need the web type (a connector that polls,
 * a `fetch`). Every routed request used to build two or three `AbortController`s and attach `EventTarget`
 * listeners to them; measured in bench/gateway, that machinery alone was about 7% of the gateway's CPU per
 * request (creating signals is the expensive part of `AbortController` in Node 20).
 */

/** What a listener needs of a cancellation: whether it fired, and a way to hear when it does. */
export interface Cancellable {
  readonly aborted: boolean;
  /** Calls `listener` once when cancelled (never if already cancelled: check `aborted` first). Returns a remover. */
  onAbort(listener: () => void): () => void;
}

const NOOP = () => undefined;

export class CancelSignal implements Cancellable {
  private listeners: Array<() => void> | null = null;
  private controller: AbortController | null = null;
  private fired = false;

  get aborted(): boolean {
    return this.fired;
  }

  onAbort(listener: () => void): () => void {
    if (this.fired) return NOOP;
    (this.listeners ??= []).push(listener);
    return () => {
      const listeners = this.listeners;
      const at = listeners ? listeners.indexOf(listener) : -1;
      if (at >= 0) listeners!.splice(at, 1);
    };
  }

  /** Fires once: every listener, in the order they were added, then the `AbortSignal` if one was handed out. */
  abort(): void {
    if (this.fired) return;
    this.fired = true;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const listener of listeners) listener();
    this.controller?.abort();
  }

  /** The same cancellation as a web `AbortSignal` (created on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.fired) this.controller.abort();
    }
    return this.controller.signal;
  }
}

/** A `Cancellable` view of a web `AbortSignal` (for callers that hold one). */
export function cancellableOf(signal: AbortSignal): Cancellable {
  return {
    get aborted() {
      return signal.aborted;
    },
    onAbort(listener) {
      if (signal.aborted) return NOOP;
      signal.addEventListener("abort", listener, { once: true });
      return () => signal.removeEventListener("abort", listener);
    },
  };
}
