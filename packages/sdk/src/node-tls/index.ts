/**
 * @module @kai/sdk/node
 * TLS settings for a client in Node (issue 19): a node whose certificate is signed by a private CA, and a node that
 * asks for a client certificate (`server.tls.clientCertificates: all`). `nodeTls()` returns the `fetch` and the
 * `WebSocket` to give `createClient` (and `createKlpAgent`), so that REST calls, event streams and `watch()` all
 * connect with the same settings:
 *
 *     createClient({ url: "https://kai.internal:7070", token, ...nodeTls({ caFile: "/etc/kai/ca.pem" }) })
 *
 * The CA is trusted beside the system's roots, as the CLI's `--ca-file` does: certificates and host names are still
 * verified; nothing here turns verification off. A separate entry (package.json `exports["./node"]`) because it
 * imports undici and `ws`, which browser bundles of the SDK must never pull in; a browser trusts what its system does.
 */
import { Agent, fetch as undiciFetch } from "undici";
import WebSocket from "ws";
import type { WebSocketConstructor } from "../websocket-factory.js";
import { type NodeTlsOptions, tlsConnectOptions } from "./tls-settings.js";

export { type NodeTlsOptions, type TlsConnectOptions, TlsSettingError, tlsConnectOptions } from "./tls-settings.js";

export interface NodeTls {
  /** Give to `createClient({ fetch })`, `createKlpAgent({ fetch })`, `inspectNode(url, { fetch })`. */
  fetch: typeof globalThis.fetch;
  /** Give to `createClient({ WebSocket })`: `watch()` connects with the same settings. */
  WebSocket: WebSocketConstructor;
  /** Closes the connections kept open for reuse (a process that ends need not call it). */
  close(): Promise<void>;
}

/** The `fetch` and `WebSocket` that connect with these TLS settings (see the module comment). */
export function nodeTls(options: NodeTlsOptions): NodeTls {
  const connect = tlsConnectOptions(options);
  const dispatcher = new Agent({ connect });
  // undici's own fetch: Node 20's global fetch is an older undici, whose dispatcher interface is not this one's.
  const fetchWithTls = ((input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as typeof globalThis.fetch;
  class TlsWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[], socketOptions?: WebSocket.ClientOptions) {
      super(address, protocols, { ...socketOptions, ...connect });
    }
  }
  return { fetch: fetchWithTls, WebSocket: TlsWebSocket as unknown as WebSocketConstructor, close: () => dispatcher.close() };
}
