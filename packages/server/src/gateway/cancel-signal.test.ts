// CancelSignal: listeners fire once, in order, and can be removed; the AbortSignal view is created on demand
// and mirrors the state whichever comes first; cancellableOf adapts a web AbortSignal.
import { describe, expect, it } from "vitest";
import { CancelSignal, cancellableOf } from "./cancel-signal.js";

describe("CancelSignal", () => {
  it("calls each listener once, in the order added, and not after removal", () => {
    const cancel = new CancelSignal();
    const calls: string[] = [];
    cancel.onAbort(() => calls.push("a"));
    const removeB = cancel.onAbort(() => calls.push("b"));
    cancel.onAbort(() => calls.push("c"));
    removeB();
    expect(cancel.aborted).toBe(false);
    cancel.abort();
    cancel.abort();
    expect(cancel.aborted).toBe(true);
    expect(calls).toEqual(["a", "c"]);
  });

  it("does not call a listener added after the abort (callers check aborted first)", () => {
    const cancel = new CancelSignal();
    cancel.abort();
    let called = false;
    const remove = cancel.onAbort(() => (called = true));
    remove();
    expect(called).toBe(false);
  });

  it("hands out an AbortSignal that follows the cancellation, before or after it fired", () => {
    const early = new CancelSignal();
    const signal = early.signal;
    expect(signal.aborted).toBe(false);
    let heard = false;
    signal.addEventListener("abort", () => (heard = true));
    early.abort();
    expect(signal.aborted).toBe(true);
    expect(heard).toBe(true);
    expect(early.signal).toBe(signal);

    const late = new CancelSignal();
    late.abort();
    expect(late.signal.aborted).toBe(true);
  });
});

describe("cancellableOf", () => {
  it("listens to a web AbortSignal and can stop listening", () => {
    const controller = new AbortController();
    const cancel = cancellableOf(controller.signal);
    const calls: string[] = [];
    cancel.onAbort(() => calls.push("kept"));
    const remove = cancel.onAbort(() => calls.push("removed"));
    remove();
    expect(cancel.aborted).toBe(false);
    controller.abort();
    expect(cancel.aborted).toBe(true);
    expect(calls).toEqual(["kept"]);
  });
});
