/**
 * @module klp/http-transport
 * The client side of `POST /klp/message` as a `KlpTransport`: each `send` is one request, and the answer
 * (a reply or a signed `error`, whatever the HTTP status) is delivered as the next incoming message.
 * So the same session code serves HTTP and WebSocket peers.
 *
 * One exception: a refusal before KLP is reached (the route's 401 on a node that needs a client certificate, an HTTP
 * rate limit) is an API error body, not an envelope. Delivered, it would read as an unreadable answer and the peer's
 * reason would be lost; `send` rejects with `PeerRefusedError` carrying it instead, as the WebSocket's upgrade does.
 */
import type { klp } from "@kai/protocol";
import { readBoundedText } from "./bounded-body.js";
import { PeerRefusedError, refusalReason } from "./peer-failure.js";
import { peerFetch, type PeerTls } from "./peer-tls.js";
import { withTraceHeaders } from "../tracing/spans.js";

export interface HttpTransportOptions {
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** The node's client certificate and peers' CA (peer-tls.ts); absent: Node's defaults. */
  tls?: PeerTls;
}

export class HttpClientTransport implements klp.KlpTransport {
  private readonly messageHandlers = new Set<klp.TransportMessageHandler>();
  private readonly closeHandlers = new Set<klp.TransportCloseHandler>();
  private readonly inFlight = new Set<AbortController>();
  private isClosed = false;

  constructor(
    private readonly url: string,
    private readonly options: HttpTransportOptions = {},
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  async send(text: string): Promise<void> {
    if (this.isClosed) throw new Error("transport is closed");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    this.inFlight.add(controller);
    try {
      const response = await peerFetch(this.options.tls, this.url, { method: "POST", headers: withTraceHeaders({ "content-type": "application/json" }), body: text, signal: controller.signal, redirect: "error" });
      const answer = await readBoundedText(response, "the peer's answer");
      if (!response.ok) {
        const reason = refusalReason(answer);
        if (reason !== undefined) throw new PeerRefusedError(response.status, reason);
      }
      if (!this.isClosed) for (const handler of this.messageHandlers) handler(answer);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  onMessage(handler: klp.TransportMessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onClose(handler: klp.TransportCloseHandler): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  async close(reason = "closed"): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const controller of this.inFlight) controller.abort();
    for (const handler of this.closeHandlers) handler(reason);
    this.closeHandlers.clear();
    this.messageHandlers.clear();
  }
}
