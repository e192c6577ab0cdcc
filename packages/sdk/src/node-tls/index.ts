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
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import WebSocket from "ws";
import type { WebSocketConstructor } from "../websocket-factory.js";

/** PEM text, either given or read from a file (`…File`); a setting may be given one way, not both. */
export interface NodeTlsOptions {
  /** A CA certificate (PEM), trusted besides the system's roots. */
  ca?: string | Buffer;
  caFile?: string;
  /** The client certificate (PEM) for a node that asks for one; goes with `key`. */
  cert?: string | Buffer;
  certFile?: string;
  /** The client certificate's private key (PEM). */
  key?: string | Buffer;
  keyFile?: string;
}

export interface NodeTls {
  /** Give to `createClient({ fetch })`, `createKlpAgent({ fetch })`, `inspectNode(url, { fetch })`. */
  fetch: typeof globalThis.fetch;
  /** Give to `createClient({ WebSocket })`: `watch()` connects with the same settings. */
  WebSocket: WebSocketConstructor;
  /** Closes the connections kept open for reuse (a process that ends need not call it). */
  close(): Promise<void>;
}

function pem(what: string, value: string | Buffer | undefined, file: string | undefined, marker: RegExp): string | undefined {
  if (value !== undefined && file !== undefined) throw new TypeError(`nodeTls: give ${what} or ${what}File, not both`);
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new TypeError(`nodeTls: ${what}File ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
  } else if (value !== undefined) text = value.toString();
  else return undefined;
  // A wrong file (a key given as the certificate, a DER file) is named here, not by an opaque handshake failure later.
  if (!marker.test(text)) throw new TypeError(`nodeTls: ${file !== undefined ? `${what}File ${file}` : what} holds no PEM ${what === "key" ? "private key" : "certificate"}`);
  return text;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The `fetch` and `WebSocket` that connect with these TLS settings (see the module comment). */
export function nodeTls(options: NodeTlsOptions): NodeTls {
  const ca = pem("ca", options.ca, options.caFile, CERTIFICATE);
  const cert = pem("cert", options.cert, options.certFile, CERTIFICATE);
  const key = pem("key", options.key, options.keyFile, PRIVATE_KEY);
  if ((cert === undefined) !== (key === undefined)) throw new TypeError("nodeTls: a client certificate needs its key (cert and key go together)");
  // Node's `ca` replaces the system's roots; added to them, a private CA does not stop public certificates verifying.
  const connect = { ...(ca !== undefined ? { ca: [...rootCertificates, ca] } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
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
