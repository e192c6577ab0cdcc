/**
 * @module websocket-factory
 * Opens the registry stream socket in any runtime: an injected constructor, else the platform's
 * `WebSocket` (browsers, Node 22+), else the `ws` package loaded lazily (Node 20), so that nothing
 * Node-specific is imported at the top level. The token travels in the `Authorization` header when the
 * implementation can send headers (`ws`), and as `?token=` otherwise (browsers cannot set headers).
 */

/** The slice of the WebSocket API (browser and `ws` alike) the watcher uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: unknown) => void): void;
  /** `ws` only: drops the connection at once, without the closing handshake. */
  terminate?: () => void;
}

export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => WebSocketLike;

export const WS_OPEN = 1;

function isConstructor(value: unknown): value is WebSocketConstructor {
  return typeof value === "function";
}

/** Finds a WebSocket implementation; see the module comment for the order. */
export async function resolveWebSocket(injected: unknown): Promise<WebSocketConstructor> {
  if (injected !== undefined) {
    if (!isConstructor(injected)) throw new TypeError("options.WebSocket must be a WebSocket constructor");
    return injected;
  }
  const platform: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (isConstructor(platform)) return platform;
  try {
    const module = await import("ws");
    return module.default as unknown as WebSocketConstructor;
  } catch (error) {
    throw new TypeError("no WebSocket implementation: install `ws` or pass options.WebSocket", { cause: error });
  }
}

/**
 * `ws`-compatible constructors accept a third argument with headers; browser ones do not. `ws` is
 * recognised by `terminate()`, which only it has.
 */
export function supportsHeaders(constructor: WebSocketConstructor): boolean {
  const prototype: unknown = constructor.prototype;
  return typeof prototype === "object" && prototype !== null && typeof (prototype as { terminate?: unknown }).terminate === "function";
}

/** `http://host:port/base` → `ws://host:port/base/ws/registry` (plus `?token=` when headers are impossible). */
export function streamUrl(baseUrl: string, token: string | undefined, inQuery: boolean): string {
  const url = new URL(`${baseUrl}/ws/registry`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (inQuery && token !== undefined) url.searchParams.set("token", token);
  return url.toString();
}

export function openSocket(constructor: WebSocketConstructor, baseUrl: string, token: string | undefined): WebSocketLike {
  if (supportsHeaders(constructor)) {
    const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : {};
    return new constructor(streamUrl(baseUrl, token, false), undefined, { headers });
  }
  return new constructor(streamUrl(baseUrl, token, true));
}

/** Text of a message event: a string for text frames; bytes are decoded as UTF-8 just in case. */
export function messageText(event: unknown): string | undefined {
  const data: unknown = (event as { data?: unknown } | null)?.data;
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return undefined;
}
