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

/**
 * What every transport shares: the handler sets, the closed flag, delivery, and shutting down exactly once
 * (close handlers run once, then everything is let go). Subclasses only move bytes.
 */
export abstract class TransportBase implements KlpTransport {
  protected readonly messageHandlers = new Set<TransportMessageHandler>();
  private readonly closeHandlers = new Set<TransportCloseHandler>();
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  abstract send(text: string): Promise<void>;
  abstract close(reason?: string): Promise<void>;

  onMessage(handler: TransportMessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onClose(handler: TransportCloseHandler): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  protected deliver(text: string): void {
    for (const handler of this.messageHandlers) handler(text);
  }

  /** Marks the transport closed and tells the close handlers; false when it already was. */
  protected shutDown(reason: string): boolean {
    if (this.isClosed) return false;
    this.isClosed = true;
    for (const handler of this.closeHandlers) handler(reason);
    this.closeHandlers.clear();
    this.messageHandlers.clear();
    return true;
  }
}

class LinkedTransport extends TransportBase {
  peer: LinkedTransport | undefined;

  async send(text: string): Promise<void> {
    if (this.closed || !this.peer) throw new Error("transport is closed");
    const peer = this.peer;
    // Deliver on a later microtask, like a real socket: a handler never runs inside its sender's call.
    await Promise.resolve();
    if (!peer.closed) peer.deliver(text);
  }

  async close(reason = "closed"): Promise<void> {
    if (this.closed) return;
    this.shutDown(reason);
    this.peer?.shutDown(reason);
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
