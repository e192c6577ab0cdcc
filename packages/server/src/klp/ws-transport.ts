/**
 * @module klp/ws-transport
 * `KlpTransport` over a `ws` WebSocket, used on both ends: the server's `/klp` route and a node's outgoing
 * connection to a peer. One text frame is one envelope. Frames that arrive before anyone listens are kept
 * (up to a bound) so that nothing is lost between the handshake and the session that follows it.
 */
import type { RawData, WebSocket } from "ws";
import { decodeUtf8, klp } from "@kai/protocol";

/** Frames kept while nobody listens; a peer that floods a connection nobody reads is cut off. */
const MAX_QUEUED = 64;
/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;

/**
 * A text frame's UTF-8, or `undefined` when it is not UTF-8. `ws` already closes such frames (1007) unless its
 * validation is switched off; decoding fatally here keeps any frame from reaching the rules as U+FFFD.
 */
function textOf(data: RawData): string | undefined {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  return decodeUtf8(bytes);
}

export class WebSocketTransport extends klp.TransportBase {
  private readonly queued: string[] = [];

  constructor(private readonly socket: WebSocket) {
    super();
    socket.on("message", (data: RawData, isBinary: boolean) => {
      if (this.closed) return;
      if (isBinary) return void this.close("KLP frames are text", CLOSE_UNSUPPORTED_DATA);
      const text = textOf(data);
      if (text === undefined) return void this.close("KLP frames are UTF-8 text", CLOSE_INVALID_PAYLOAD);
      if (this.messageHandlers.size > 0) {
        this.deliver(text);
      } else if (this.queued.length < MAX_QUEUED) {
        this.queued.push(text);
      } else {
        void this.close("too many unanswered frames", CLOSE_POLICY_VIOLATION);
      }
    });
    socket.on("close", (code: number, reason: Buffer) => this.shutDown(reason.length > 0 ? reason.toString("utf8") : `closed (${code})`));
    // `ws` emits close after error; the error itself carries nothing a peer should see or we need to log.
    socket.on("error", () => this.shutDown("socket error"));
  }

  send(text: string): Promise<void> {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return Promise.reject(new Error("transport is closed"));
    return new Promise((resolve, reject) => this.socket.send(text, (error) => (error ? reject(error) : resolve())));
  }

  override onMessage(handler: klp.TransportMessageHandler): () => void {
    const remove = super.onMessage(handler);
    for (const text of this.queued.splice(0)) handler(text);
    return remove;
  }

  async close(reason = "closed", code = CLOSE_NORMAL): Promise<void> {
    if (this.closed) return;
    // A close reason is at most 123 bytes; ours are short ASCII sentences.
    this.socket.close(code, reason.slice(0, 120));
    this.shutDown(reason);
  }

  protected override shutDown(reason: string): boolean {
    if (!super.shutDown(reason)) return false;
    this.queued.length = 0;
    return true;
  }
}
