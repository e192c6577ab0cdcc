/**
 * @module watch-subscription
 * One live, filtered view of the registry (`Watcher`), riding on a registry stream (registry-stream.ts) under a name
 * of its own. It keeps its view from its snapshot and the events that name it, its resume point (revision and
 * epoch) for the next connection, and its caller's callbacks; the stream owns the socket, reconnects and pings.
 */
import {
  ERROR_STATUS,
  ServiceFilterSchema,
  fieldErrorsFromZod,
  type ErrorBody,
  type ServerStreamMessage,
  type ServiceRecord,
} from "@kai/protocol";
import { KaiApiError } from "./errors.js";
import { RegistryView } from "./registry-view.js";
import type { StreamPort } from "./registry-stream.js";
import type { WatchOptions, Watcher, WatcherState } from "./types.js";

/** The SDK's error for a stream `error` message, with the status the code has over HTTP. */
export function streamError(body: ErrorBody["error"]): KaiApiError {
  const { code, message, details, requestId } = body;
  return new KaiApiError({
    status: (ERROR_STATUS as Record<string, number>)[code] ?? 0,
    code,
    message,
    ...(details !== undefined ? { details } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
  });
}

/** Codes that refuse the subscription itself: sending it again on the next connection would be refused again. */
const REFUSING_CODES = new Set(["validation_failed", "rate_limited"]);

export class WatchSubscription implements Watcher {
  readonly ready: Promise<void>;
  private readonly view: RegistryView;
  /** True once there is a revision to resume from (a snapshot arrived, or the caller gave one). */
  private hasBaseline: boolean;
  private currentEpoch: string | undefined;
  /** True once this subscription took effect on the current connection (snapshot or `resumed`). */
  private synced = false;
  private isClosed = false;
  private isReady = false;
  private lastState: WatcherState | undefined;
  private resolveReady!: () => void;
  private rejectReadyWith!: (error: Error) => void;

  constructor(
    private readonly stream: StreamPort,
    readonly id: string,
    private readonly options: WatchOptions,
  ) {
    const filter = ServiceFilterSchema.safeParse(options.filter ?? {});
    if (!filter.success) {
      // The server would refuse this subscription on every reconnect; say so once, now.
      throw new KaiApiError({ status: 400, code: "validation_failed", message: "invalid watch filter", details: fieldErrorsFromZod(filter.error) });
    }
    this.view = new RegistryView(filter.data, options.fromRevision ?? 0);
    this.hasBaseline = options.fromRevision !== undefined;
    this.currentEpoch = options.epoch;
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReadyWith = reject;
    });
    // Nobody has to await `ready`; an unobserved rejection must not crash a Node program.
    this.ready.catch(() => undefined);
    const { signal } = options;
    if (signal?.aborted) this.end(new Error("the watcher was closed before it received its first snapshot"));
    else signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => this.close();

  get revision(): number {
    return this.view.revision;
  }

  /** The registry epoch the revision belongs to; undefined until the first snapshot or resume. */
  get epoch(): string | undefined {
    return this.currentEpoch;
  }

  get services(): ReadonlyMap<string, ServiceRecord> {
    return this.view.services;
  }

  get state(): WatcherState {
    return this.isClosed ? "closed" : this.stream.state;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    if (this.isClosed) return;
    this.stream.unsubscribe(this);
    this.end(new Error("the watcher was closed before it received its first snapshot"));
  }

  /** What to send to (re)subscribe: from the last revision applied once there is one. */
  subscribeMessage(): Record<string, unknown> {
    return {
      type: "subscribe",
      id: this.id,
      ...(this.options.filter !== undefined ? { filter: this.options.filter } : {}),
      ...(this.hasBaseline ? { fromRevision: this.view.revision, ...(this.currentEpoch ? { epoch: this.currentEpoch } : {}) } : {}),
    };
  }

  /** A new connection: this subscription has not taken on it yet. */
  connectionOpened(): void {
    this.synced = false;
  }

  apply(message: ServerStreamMessage): void {
    if (this.isClosed) return;
    switch (message.type) {
      case "snapshot":
        this.currentEpoch = message.epoch;
        this.view.applySnapshot(message.revision, message.services);
        this.markSynced();
        this.invoke(() => this.options.onSnapshot?.(message));
        this.markReady();
        break;
      case "event":
        if (this.view.applyEvent(message)) this.invoke(() => this.options.onEvent?.(message));
        break;
      case "resumed":
        this.currentEpoch = message.epoch;
        this.view.advanceTo(message.revision);
        this.markSynced();
        this.invoke(() => this.options.onResumed?.(this.view.revision));
        this.markReady();
        break;
      case "progress":
        // Only a subscription that took on this connection may move its resume point (the server sends progress
        // only while every subscription is live; this guards the moment between a subscribe and its answer).
        if (this.synced) this.view.advanceTo(message.revision);
        break;
      default:
        break;
    }
  }

  /** The server refused something about this subscription. */
  refused(error: KaiApiError): void {
    this.report(error);
    if (!REFUSING_CODES.has(error.code)) return;
    this.rejectReady(error);
    this.stream.unsubscribe(this);
    this.end(error);
  }

  /** The stream's state changed (never `closed`: `end` says that). */
  stateChanged(state: WatcherState): void {
    if (this.isClosed || state === "closed") return;
    this.emitState(state);
  }

  /** Stops for good (closed by the caller, refused, or its stream ended). */
  end(error: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.emitState("closed");
    this.rejectReady(error);
  }

  rejectReady(error: Error): void {
    if (this.isReady) return;
    this.isReady = true;
    this.rejectReadyWith(error);
  }

  report(error: Error): void {
    const { onError } = this.options;
    if (!onError) return;
    try {
      onError(error);
    } catch {
      // A throwing error handler has nowhere left to report to.
    }
  }

  private markSynced(): void {
    this.hasBaseline = true;
    this.synced = true;
    this.stream.synced();
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.resolveReady();
  }

  private emitState(state: WatcherState): void {
    if (state === this.lastState) return;
    this.lastState = state;
    this.invoke(() => this.options.onStateChange?.(state));
  }

  /** Runs a caller's callback so that its exceptions reach `onError` instead of breaking the stream. */
  private invoke(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.report(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
