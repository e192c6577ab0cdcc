/**
 * @module registry-stream
 * One `/ws/registry` connection carrying any number of named subscriptions (watch-subscription.ts), and surviving
 * disconnects: after a drop it reconnects with backoff and subscribes each subscription again from the last
 * revision it applied, so the server replays exactly what each missed (or sends it a fresh snapshot). A change that
 * concerns several subscriptions arrives once, naming them. A credential the server refuses stops every subscription:
 * retrying cannot fix it. `client.watch()` is a stream of its own with one subscription; `client.registryStream()`
 * shares one connection between many (what a dashboard or a gateway watching many capabilities wants: one socket,
 * not hundreds).
 */
import { ServerStreamMessageSchema, parseJson, type ServerStreamMessage } from "@kai/protocol";
import { backoffDelay } from "./backoff.js";
import { KaiApiError, KaiConnectionError, isAuthError } from "./errors.js";
import { unrefTimer } from "./timers.js";
import type { RegistryStream, RegistryStreamOptions, WatchOptions, Watcher, WatcherState } from "./types.js";
import { WatchSubscription, streamError } from "./watch-subscription.js";
import { WS_OPEN, messageText, openSocket, resolveWebSocket, type WebSocketLike } from "./websocket-factory.js";

export interface StreamContext {
  baseUrl: string;
  /** The token to open a connection with (a session's current access token, renewed when due). */
  accessToken(): Promise<string | undefined>;
  WebSocket: unknown;
  /** Throws a `KaiApiError` 401/403 when the token may not read the registry. */
  probeAccess(): Promise<void>;
  options: RegistryStreamOptions;
}

export const DEFAULT_PING_INTERVAL_MS = 25_000;
const NORMAL_CLOSURE = 1000;
/** Application close code (4000–4999 are ours) for a connection we gave up on as silent. */
const SILENT_CLOSURE = 4000;

/** What a subscription may ask of the stream it rides on. */
export interface StreamPort {
  readonly state: WatcherState;
  /** Sends the subscription's `subscribe` now when the connection is open (else it goes out on the next open). */
  subscribe(subscription: WatchSubscription): void;
  /** The subscription ended: forget it and tell the server. */
  unsubscribe(subscription: WatchSubscription): void;
  /** The subscription's first snapshot or resume arrived on this connection. */
  synced(): void;
}

export class SharedRegistryStream implements RegistryStream, StreamPort {
  private readonly subscriptions = new Map<string, WatchSubscription>();
  private nextId = 1;
  private currentState: WatcherState = "connecting";
  private socket: WebSocketLike | undefined;
  /** True once a subscription took effect on the current connection (a snapshot or `resumed` arrived). */
  private connectionSynced = false;
  private stopped = false;
  private started = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastMessageAt = 0;
  private lastSocketError: string | undefined;
  private readonly options: RegistryStreamOptions;

  /** `closeWhenEmpty`: the stream ends with its last subscription (a stream made for one `watch()`). */
  constructor(
    private readonly context: StreamContext,
    private readonly closeWhenEmpty = false,
  ) {
    this.options = context.options;
    const { signal } = this.options;
    if (signal?.aborted) {
      this.close();
      return;
    }
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => this.close();

  get state(): WatcherState {
    return this.currentState;
  }

  get size(): number {
    return this.subscriptions.size;
  }

  watch(options: WatchOptions): Watcher {
    const subscription = new WatchSubscription(this, `w${this.nextId++}`, options);
    if (subscription.closed) return subscription; // its signal had already fired
    if (this.stopped) {
      subscription.end(new Error("the registry stream is closed"));
      return subscription;
    }
    this.subscriptions.set(subscription.id, subscription);
    // Start after `watch()` has returned, so that callbacks never run before the caller holds the watcher.
    queueMicrotask(() => {
      if (subscription.closed) return;
      subscription.stateChanged(this.currentState);
      if (!this.started) {
        this.started = true;
        void this.connect();
      } else this.subscribe(subscription);
    });
    return subscription;
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    // A long-lived signal (one per page, say) must not keep every closed stream alive.
    this.options.signal?.removeEventListener("abort", this.onAbort);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) closeQuietly(socket, NORMAL_CLOSURE, "client closed");
    this.setState("closed");
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    for (const subscription of subscriptions) subscription.end(new Error("the watcher was closed before it received its first snapshot"));
  }

  subscribe(subscription: WatchSubscription): void {
    if (this.socket?.readyState === WS_OPEN && this.subscriptions.get(subscription.id) === subscription) this.send(subscription.subscribeMessage());
  }

  unsubscribe(subscription: WatchSubscription): void {
    if (this.subscriptions.get(subscription.id) !== subscription) return;
    this.subscriptions.delete(subscription.id);
    if (this.closeWhenEmpty && this.subscriptions.size === 0) {
      this.close();
      return;
    }
    if (this.socket?.readyState === WS_OPEN) this.send({ type: "unsubscribe", id: subscription.id });
  }

  synced(): void {
    this.connectionSynced = true;
    this.attempt = 0;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let token: string | undefined;
    try {
      token = await this.context.accessToken();
    } catch (error) {
      // Renewing the session's access token failed: over for good (refused), or try again later (no answer).
      if (isAuthError(error)) this.failAll(error);
      else {
        this.reportAll(error instanceof Error ? error : new Error(String(error)));
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
      this.failAll(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.socket = socket;
    this.connectionSynced = false;
    this.lastSocketError = undefined;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.setState("open");
      this.lastMessageAt = Date.now();
      for (const subscription of this.subscriptions.values()) {
        subscription.connectionOpened();
        this.send(subscription.subscribeMessage());
      }
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
      this.reportAll(new KaiApiError({ status: 0, code: "invalid_response", message: "the server sent a stream message that does not match the protocol" }));
      return;
    }
    this.route(parsed.data);
  }

  /** Hands each message to the subscriptions it names; `progress` speaks for all of them. */
  private route(message: ServerStreamMessage): void {
    switch (message.type) {
      case "snapshot":
      case "resumed":
        if (message.subscription !== undefined) this.subscriptions.get(message.subscription)?.apply(message);
        break;
      case "event":
        for (const id of message.subscriptions ?? []) this.subscriptions.get(id)?.apply(message);
        break;
      case "progress":
        for (const subscription of this.subscriptions.values()) subscription.apply(message);
        break;
      case "pong":
        break;
      case "error": {
        const error = streamError(message.error);
        const subscription = message.subscription === undefined ? undefined : this.subscriptions.get(message.subscription);
        // A refused credential would be refused again on every reconnect: it ends every subscription.
        if (isAuthError(error)) this.failAll(error);
        else if (subscription) subscription.refused(error);
        else this.reportAll(error);
        break;
      }
    }
  }

  private async handleDisconnect(description: string): Promise<void> {
    this.stopPings();
    if (this.stopped) return;
    if (!this.connectionSynced) {
      // The connection failed before any subscription took. A browser cannot see the HTTP status of a refused
      // upgrade, so ask the REST API whether the token is the problem.
      try {
        await this.context.probeAccess();
      } catch (error) {
        if (isAuthError(error)) {
          this.failAll(error);
          return;
        }
      }
      if (this.stopped) return;
    }
    this.reportAll(new KaiConnectionError(`registry stream ${description}; reconnecting`));
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

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WS_OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Stops for good and tells every subscription why. */
  private failAll(error: Error): void {
    if (this.stopped) return;
    this.reportAll(error);
    for (const subscription of this.subscriptions.values()) subscription.rejectReady(error);
    this.close();
  }

  private reportAll(error: Error): void {
    this.report(error);
    for (const subscription of this.subscriptions.values()) subscription.report(error);
  }

  private report(error: Error): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error handler has nowhere left to report to.
    }
  }

  private setState(state: WatcherState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    try {
      this.options.onStateChange?.(state);
    } catch (error) {
      this.report(error instanceof Error ? error : new Error(String(error)));
    }
    for (const subscription of this.subscriptions.values()) subscription.stateChanged(state);
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
