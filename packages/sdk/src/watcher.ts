/**
 * @module watcher
 * `client.watch()`: a live, filtered view of the registry over `/ws/registry` that survives disconnects.
 * After a drop it reconnects with backoff and subscribes from the last revision it applied, so the
 * server replays exactly what was missed (or sends a fresh snapshot when that is no longer possible).
 * A credential the server refuses stops the watcher: retrying cannot fix it.
 */
import {
  ERROR_STATUS,
  ServerStreamMessageSchema,
  ServiceFilterSchema,
  fieldErrorsFromZod,
  parseJson,
  type ServerStreamMessage,
  type ServiceRecord,
} from "@kai/protocol";
import { backoffDelay } from "./backoff.js";
import { KaiApiError, KaiConnectionError, isAuthError } from "./errors.js";
import { RegistryView } from "./registry-view.js";
import { unrefTimer } from "./timers.js";
import type { WatchOptions, Watcher, WatcherState } from "./types.js";
import { WS_OPEN, messageText, openSocket, resolveWebSocket, type WebSocketLike } from "./websocket-factory.js";

export interface WatcherContext {
  baseUrl: string;
  /** The token to open a connection with (a session's current access token, renewed when due). */
  accessToken(): Promise<string | undefined>;
  WebSocket: unknown;
  /** Throws a `KaiApiError` 401/403 when the token may not read the registry. */
  probeAccess(): Promise<void>;
  options: WatchOptions;
}

export const DEFAULT_PING_INTERVAL_MS = 25_000;
const NORMAL_CLOSURE = 1000;
/** Application close code (4000–4999 are ours) for a connection we gave up on as silent. */
const SILENT_CLOSURE = 4000;

export function createWatcher(context: WatcherContext): Watcher {
  return new RegistryWatcher(context);
}

function stableCodeStatus(code: string): number {
  return (ERROR_STATUS as Record<string, number>)[code] ?? 0;
}

class RegistryWatcher implements Watcher {
  readonly ready: Promise<void>;
  private readonly view: RegistryView;
  private readonly options: WatchOptions;
  private currentState: WatcherState = "connecting";
  private socket: WebSocketLike | undefined;
  /** True once there is a revision to resume from (a snapshot arrived, or the caller gave one). */
  private hasBaseline: boolean;
  private currentEpoch: string | undefined;
  /** True once the current connection's subscription took effect (snapshot or `resumed`). */
  private synced = false;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastMessageAt = 0;
  private lastSocketError: string | undefined;
  private isReady = false;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;

  constructor(private readonly context: WatcherContext) {
    this.options = context.options;
    const filter = ServiceFilterSchema.safeParse(this.options.filter ?? {});
    if (!filter.success) {
      // The server would refuse this subscription on every reconnect; say so once, now.
      throw new KaiApiError({
        status: 400,
        code: "validation_failed",
        message: "invalid watch filter",
        details: fieldErrorsFromZod(filter.error),
      });
    }
    this.view = new RegistryView(filter.data, this.options.fromRevision ?? 0);
    this.hasBaseline = this.options.fromRevision !== undefined;
    this.currentEpoch = this.options.epoch;
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Nobody has to await `ready`; an unobserved rejection must not crash a Node program.
    this.ready.catch(() => undefined);

    const { signal } = this.options;
    if (signal?.aborted) {
      this.close();
      return;
    }
    signal?.addEventListener("abort", this.onAbort, { once: true });
    // Start after `watch()` has returned, so that callbacks never run before the caller holds the watcher.
    queueMicrotask(() => {
      if (this.stopped) return;
      this.invoke(() => this.options.onStateChange?.("connecting"));
      void this.connect();
    });
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
    return this.currentState;
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    // A long-lived signal (one per page, say) must not keep every closed watcher alive.
    this.options.signal?.removeEventListener("abort", this.onAbort);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) closeQuietly(socket, NORMAL_CLOSURE, "client closed");
    this.setState("closed");
    if (!this.isReady) {
      this.isReady = true;
      this.rejectReady(new Error("the watcher was closed before it received its first snapshot"));
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let token: string | undefined;
    try {
      token = await this.context.accessToken();
    } catch (error) {
      // Renewing the session's access token failed: over for good (refused), or try again later (no answer).
      if (isAuthError(error)) this.fail(error);
      else {
        this.report(error instanceof Error ? error : new Error(String(error)));
        this.scheduleReconnect();
      }
      return;
    }
    let socket: WebSocketLike;
    try {
      const constructor = await resolveWebSocket(this.context.WebSocket);
      if (this.stopped) return;
      socket = openSocket(constructor, this.context.baseUrl, token);
    } catch (error) {
      // No WebSocket implementation or an unusable URL: nothing a retry would change.
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.socket = socket;
    this.synced = false;
    this.lastSocketError = undefined;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.setState("open");
      this.lastMessageAt = Date.now();
      this.send({
        type: "subscribe",
        ...(this.options.filter !== undefined ? { filter: this.options.filter } : {}),
        ...(this.hasBaseline ? { fromRevision: this.view.revision, ...(this.currentEpoch ? { epoch: this.currentEpoch } : {}) } : {}),
      });
      this.startPings();
    });
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.handleMessage(event);
    });
    socket.addEventListener("error", (event) => {
      const message: unknown = (event as { message?: unknown } | null)?.message;
      if (socket === this.socket && typeof message === "string") this.lastSocketError = message;
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
      this.socket = undefined;
      void this.handleDisconnect(describeClose(code, reason, this.lastSocketError));
    });
  }

  private handleMessage(event: unknown): void {
    this.lastMessageAt = Date.now();
    const text = messageText(event);
    const json = text === undefined ? undefined : parseJson(text);
    const parsed = json?.ok ? ServerStreamMessageSchema.safeParse(json.value) : undefined;
    if (!parsed?.success) {
      this.report(new KaiApiError({ status: 0, code: "invalid_response", message: "the server sent a stream message that does not match the protocol" }));
      return;
    }
    this.apply(parsed.data);
  }

  private apply(message: ServerStreamMessage): void {
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
        this.view.advanceTo(message.revision);
        break;
      case "pong":
        break;
      case "error": {
        const { code, message: text, details, requestId } = message.error;
        const error = new KaiApiError({
          status: stableCodeStatus(code),
          code,
          message: text,
          ...(details !== undefined ? { details } : {}),
          ...(requestId !== undefined ? { requestId } : {}),
        });
        // A refused credential or subscription would be refused again on every reconnect.
        if (isAuthError(error) || code === "validation_failed") this.fail(error);
        else this.report(error);
        break;
      }
    }
  }

  private markSynced(): void {
    this.hasBaseline = true;
    this.synced = true;
    this.attempt = 0;
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.resolveReady();
  }

  private async handleDisconnect(description: string): Promise<void> {
    this.stopPings();
    if (this.stopped) return;
    if (!this.synced) {
      // The connection failed before the subscription took. A browser cannot see the HTTP status of a
      // refused upgrade, so ask the REST API whether the token is the problem.
      try {
        await this.context.probeAccess();
      } catch (error) {
        if (isAuthError(error)) {
          this.fail(error);
          return;
        }
      }
      if (this.stopped) return;
    }
    this.report(new KaiConnectionError(`registry stream ${description}; reconnecting`));
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState("reconnecting");
    const delay = backoffDelay(this.attempt, this.options.reconnect);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private startPings(): void {
    const interval = this.options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    if (interval <= 0) return;
    this.stopPings();
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      if (!socket) return;
      if (Date.now() - this.lastMessageAt > 2 * interval) {
        // Half-open connections (a laptop lid, a NAT timeout) never report a close: give up on it ourselves.
        this.socket = undefined;
        if (socket.terminate) socket.terminate();
        else closeQuietly(socket, SILENT_CLOSURE, "no answer to ping");
        void this.handleDisconnect("was silent for too long");
        return;
      }
      this.send({ type: "ping" });
    }, interval);
    unrefTimer(this.pingTimer);
  }

  private stopPings(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private clearTimers(): void {
    this.stopPings();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private send(message: { type: "subscribe"; filter?: unknown; fromRevision?: number; epoch?: string } | { type: "ping" }): void {
    if (this.socket?.readyState === WS_OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Stops for good and tells the caller why. */
  private fail(error: Error): void {
    if (this.stopped) return;
    this.report(error);
    if (!this.isReady) {
      this.isReady = true;
      this.rejectReady(error);
    }
    this.close();
  }

  private report(error: Error): void {
    const { onError } = this.options;
    if (!onError) return;
    try {
      onError(error);
    } catch {
      // A throwing error handler has nowhere left to report to.
    }
  }

  /** Runs a caller's callback so that its exceptions reach `onError` instead of breaking the stream. */
  private invoke(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.report(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private setState(state: WatcherState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.invoke(() => this.options.onStateChange?.(state));
  }
}

function closeQuietly(socket: WebSocketLike, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Closing a socket that never connected may throw in some implementations; it is gone either way.
  }
}

function describeClose(code: number | undefined, reason: string | undefined, error: string | undefined): string {
  const parts = [`closed (code ${code ?? "unknown"}${reason ? `, ${reason}` : ""})`];
  if (error) parts.push(error);
  return parts.join(": ");
}
