/**
 * @module klp/transport
 * The one interface every KLP transport implements (HTTP, WebSocket, in-memory), and the in-memory
 * linked pair used in tests. A transport moves JSON text; it neither parses nor trusts it, so the
 * protocol code (and its acceptance rules) is the same whatever carries the bytes.
 */

export type TransportMessageHandler = (text: string) => void;
export type TransportCloseHandler = (reason: string) => void;

export interface KlpTransport {
  /** Sends one serialised envelope. Rejects when the transport is closed. */
  send(text: string): Promise<void>;
  /** Registers the handler for incoming text; returns a function that removes it. */
  onMessage(handler: TransportMessageHandler): () => void;
  /** Registers a handler called once when either side closes. */
  onClose(handler: TransportCloseHandler): () => void;
  /** Closes both directions; idempotent. */
  close(reason?: string): Promise<void>;
  readonly closed: boolean;
}

class LinkedTransport implements KlpTransport {
  peer: LinkedTransport | undefined;
  private readonly messageHandlers = new Set<TransportMessageHandler>();
  private readonly closeHandlers = new Set<TransportCloseHandler>();
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  async send(text: string): Promise<void> {
    if (this.isClosed || !this.peer) throw new Error("transport is closed");
    const peer = this.peer;
    // Deliver on a later microtask, like a real socket: a handler never runs inside its sender's call.
    await Promise.resolve();
    if (!peer.isClosed) peer.deliver(text);
  }

  onMessage(handler: TransportMessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onClose(handler: TransportCloseHandler): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  async close(reason = "closed"): Promise<void> {
    if (this.isClosed) return;
    this.shutDown(reason);
    this.peer?.shutDown(reason);
  }

  private deliver(text: string): void {
    for (const handler of this.messageHandlers) handler(text);
  }

  private shutDown(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const handler of this.closeHandlers) handler(reason);
    this.closeHandlers.clear();
    this.messageHandlers.clear();
  }
}

/** Two transports wired to each other: what one sends, the other receives; closing one closes both. */
export function createLinkedTransports(): [KlpTransport, KlpTransport] {
  const a = new LinkedTransport();
  const b = new LinkedTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
