/**
 * @module klp/peer-session
 * The client side of KLP between nodes (and for tests and tools): read a node's signed document, open
 * a session over HTTP or WebSocket (after the four-step handshake), send requests and match their
 * replies by `metadata.correlationId`. Every reply passes the acceptance rules too, and must come from
 * the DID the session was opened with: an answer is trusted no more than a request.
 */
import WebSocket from "ws";
import { z } from "zod";
import { klp, parseJson } from "@kai/protocol";
import { HttpClientTransport } from "./http-transport.js";
import { MAX_PEER_ANSWER_BYTES, readBoundedText } from "./bounded-body.js";
import { peerFetch, type PeerTls } from "./peer-tls.js";
import { CLOSE_NORMAL, WebSocketTransport } from "./ws-transport.js";
import { MAX_REFUSAL_BYTES, PeerRefusedError, refusalReason } from "./peer-failure.js";
import type { NodeTracing } from "../tracing/node-tracing.js";
import { inSpan, SpanKind } from "../tracing/spans.js";

export type PeerTransportKind = "http" | "ws";

export interface ConnectOptions {
  /** Refuse the node unless its document names this DID (a pinned peer). */
  expectDid?: string;
  now?: () => number;
  timeoutMs?: number;
  /** The node's tracing: a client span per request sent, its `traceparent` on the HTTP transport's POST. */
  tracing?: NodeTracing;
  /** The node's client certificate and peers' CA (peer-tls.ts); absent: Node's defaults. */
  tls?: PeerTls;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Discovery answers can be large; what a peer may send us in one frame (the same bound as an HTTP answer). */
const MAX_INCOMING_FRAME = MAX_PEER_ANSWER_BYTES;
/** A node document is a DID, a few URLs and a signature: far below this. */
const MAX_NODE_DOCUMENT_BYTES = 64 * 1024;

/** Fetches `/.well-known/klp.json` and checks its schema and its detached signature by the DID it names. */
export async function fetchNodeDocument(baseUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS, tls?: PeerTls): Promise<klp.KlpNodeDocument> {
  const response = await peerFetch(tls, new URL("/.well-known/klp.json", baseUrl), { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  if (response.status !== 200) throw new klp.KlpError("KLP_NOT_FOUND", `no KLP node document at ${baseUrl} (HTTP ${response.status})`);
  const json = parseJson(await readBoundedText(response, "the node document", MAX_NODE_DOCUMENT_BYTES));
  const parsed = json.ok ? klp.KlpNodeDocumentSchema.safeParse(json.value) : undefined;
  if (!json.ok || !parsed?.success) throw new klp.KlpError("KLP_MALFORMED", "the node document does not match the KLP node document schema");
  if (!klp.verifyDocument(json.value as Record<string, unknown>, parsed.data.did)) throw new klp.KlpError("KLP_BAD_SIGNATURE", "the node document's signature does not verify");
  return parsed.data;
}

/** True when an entry that claims a service's own registration carries one that verifies by its signer. */
export function entryRegistrationHolds(entry: klp.KlpDiscoveryEntry): boolean {
  if (entry.registration === undefined) return true;
  const json = parseJson(entry.registration);
  if (!json.ok || typeof json.value !== "object" || json.value === null) return false;
  const raw = json.value as Record<string, unknown>;
  return raw.from === entry.signer && klp.verifyEnvelope(raw);
}

/**
 * The WebSocket to `url`, open. A peer that answers the upgrade with a status instead (a 401 from a node that needs a
 * client certificate, with the reason in its error body) rejects with `PeerRefusedError` carrying that reason: `ws`'s
 * own error says only "Unexpected server response: 401", and the operator of this node then cannot tell why.
 */
function openSocket(url: URL, timeoutMs: number, tls: PeerTls | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: MAX_INCOMING_FRAME, handshakeTimeout: timeoutMs, ...tls?.socketOptions() });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    // With this listener `ws` leaves the answer to us: read a bounded part of its body, then close the connection.
    socket.once("unexpected-response", (request, response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      // The connection itself, taken now: once the body has ended, Node hands a keep-alive socket back to its agent's
      // pool, and destroying the request no longer closes it (the peer's server would then wait on it to shut down).
      const connection = request.socket;
      const refuse = () => {
        connection?.destroy();
        request.destroy();
        reject(new PeerRefusedError(response.statusCode ?? 0, refusalReason(Buffer.concat(chunks).toString("utf8"))));
      };
      response.on("data", (chunk: Buffer) => {
        if (length >= MAX_REFUSAL_BYTES) return;
        chunks.push(chunk);
        length += chunk.length;
        if (length >= MAX_REFUSAL_BYTES) refuse();
      });
      response.once("end", refuse);
      response.once("error", refuse);
    });
  });
}

/** Opens a session to the node at `baseUrl`; over WebSocket, only after the handshake has proven both keys. */
export async function connectPeer(baseUrl: string, self: klp.KlpKeyPair, via: PeerTransportKind, options: ConnectOptions = {}): Promise<KlpPeerSession> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const document = await fetchNodeDocument(baseUrl, timeoutMs, options.tls);
  if (options.expectDid !== undefined && document.did !== options.expectDid) {
    throw new klp.KlpError("KLP_UNKNOWN_SENDER", "the node is not the pinned identity");
  }
  const context: klp.AcceptContext = {
    ...(options.now ? { now: options.now } : {}),
    // One sender on this session (the peer), which may push a lot: room for what its pacing allows.
    replayCache: new klp.ReplayCache({ maxIdsPerSender: klp.PEER_SESSION_REPLAY_IDS }),
    trust: (envelope) =>
      envelope.from === document.did ? { ok: true } : { ok: false, code: "KLP_UNKNOWN_SENDER", message: "the reply is not from the node this session was opened with" },
    recipientExists: (address) => address.kind === "did" && address.did === self.did,
  };
  if (via === "http") {
    return new KlpPeerSession(new HttpClientTransport(new URL(document.endpoints.message, baseUrl).href, { timeoutMs, ...(options.tls ? { tls: options.tls } : {}) }), self, document.did, context, timeoutMs, options.tracing);
  }
  const url = new URL(document.endpoints.websocket, baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const transport = new WebSocketTransport(await openSocket(url, timeoutMs, options.tls));
  try {
    await klp.openHandshake(transport, self, { context, expectPeer: document.did, timeoutMs });
  } catch (error) {
    await transport.close("handshake failed");
    throw error;
  }
  return new KlpPeerSession(transport, self, document.did, context, timeoutMs, options.tracing);
}

interface Pending {
  resolve: (envelope: klp.KlpEnvelope) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const CorrelationSchema = z.object({ metadata: z.object({ correlationId: z.string() }) });

/** Called with an accepted message from the peer that answers no request (a push). */
export type UnsolicitedHandler = (envelope: klp.KlpEnvelope) => void;

export class KlpPeerSession {
  private readonly pending = new Map<string, Pending>();
  private readonly unsolicited = new Set<UnsolicitedHandler>();
  private readonly refused = new Set<(code: klp.KlpErrorCode) => void>();

  constructor(
    private readonly transport: klp.KlpTransport,
    private readonly self: klp.KlpKeyPair,
    readonly peerDid: string,
    private readonly context: klp.AcceptContext,
    private readonly timeoutMs: number,
    private readonly tracing?: NodeTracing,
  ) {
    transport.onMessage((text) => void this.onText(text));
    transport.onClose((reason) => this.failAll(new klp.KlpError("KLP_INTERNAL", `connection closed: ${reason}`)));
  }

  get closed(): boolean {
    return this.transport.closed;
  }

  /** Signs and sends a request; resolves with its reply, rejects with a KlpError for an `error` reply. */
  request<T extends klp.KlpMessageType>(input: klp.CreateEnvelopeInput<T>): Promise<klp.KlpEnvelope> {
    return this.send(klp.createEnvelope(input, this.self));
  }

  /** Sends an envelope that is already signed (by anyone: the node answers whoever signed it). */
  send(envelope: klp.KlpEnvelope): Promise<klp.KlpEnvelope> {
    if (!this.tracing) return this.sendMessage(envelope);
    // A client span until the reply (or refusal); the transport sends inside it, so HTTP carries its `traceparent`.
    return inSpan(this.tracing, "klp.send", { kind: SpanKind.CLIENT, attributes: { "klp.type": envelope.type, "klp.peer": this.peerDid } }, () => this.sendMessage(envelope));
  }

  private sendMessage(envelope: klp.KlpEnvelope): Promise<klp.KlpEnvelope> {
    const answer = new Promise<klp.KlpEnvelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.id);
        reject(new klp.KlpError("KLP_STALE", "no reply in time"));
      }, this.timeoutMs);
      this.pending.set(envelope.id, { resolve, reject, timer });
    });
    this.transport.send(JSON.stringify(envelope)).catch((error: unknown) => this.settle(envelope.id, undefined, error instanceof Error ? error : new Error(String(error))));
    return answer;
  }

  /** Asks the peer for services; keeps only entries from that peer whose own registrations verify. */
  async discover(query: klp.KlpDiscoveryQuery = {}): Promise<klp.KlpDiscoveryEntry[]> {
    const reply = await this.request({ type: "service_discovery", to: this.peerDid, payload: query });
    const entries = z.array(klp.KlpDiscoveryEntrySchema).safeParse(reply.payload.entries);
    if (!entries.success) throw new klp.KlpError("KLP_MALFORMED", "the discovery answer has no valid entries");
    return entries.data.filter((entry) => entry.origin === this.peerDid && entryRegistrationHolds(entry));
  }

  onClose(handler: (reason: string) => void): () => void {
    return this.transport.onClose(handler);
  }

  /** Registers a handler told the code of every message from the peer that failed the acceptance rules. */
  onRefused(handler: (code: klp.KlpErrorCode) => void): () => void {
    this.refused.add(handler);
    return () => this.refused.delete(handler);
  }

  /** Registers a handler for accepted messages that answer no request (pushes); returns its remover. */
  onUnsolicited(handler: UnsolicitedHandler): () => void {
    this.unsolicited.add(handler);
    return () => this.unsolicited.delete(handler);
  }

  async close(reason = "closed"): Promise<void> {
    if (this.transport instanceof WebSocketTransport) await this.transport.close(reason, CLOSE_NORMAL);
    else await this.transport.close(reason);
  }

  private async onText(text: string): Promise<void> {
    const result = await klp.acceptText(text, this.context);
    if (!result.ok) {
      // Not an acceptable message: fail the request it answers, if that can be told (over HTTP it always can).
      const raw = parseJson(text);
      const correlated = raw.ok ? CorrelationSchema.safeParse(raw.value) : undefined;
      const id = correlated?.success ? correlated.data.metadata.correlationId : this.pending.size === 1 ? [...this.pending.keys()][0] : undefined;
      if (id !== undefined) this.settle(id, undefined, new klp.KlpError(result.error.code, `the peer's answer was refused: ${result.error.message}`));
      for (const handler of this.refused) handler(result.error.code);
      return;
    }
    const reply = result.envelope;
    const id = reply.metadata?.correlationId;
    if (id === undefined) {
      // Not an answer: something the peer sends on its own (federation pushes). It passed the same rules.
      for (const handler of this.unsolicited) handler(reply);
      return;
    }
    if (reply.type === "error") {
      const payload = klp.ErrorPayloadSchema.parse(reply.payload);
      this.settle(id, undefined, new klp.KlpError(payload.code, payload.message, payload.details));
    } else {
      this.settle(id, reply);
    }
  }

  private settle(id: string, reply: klp.KlpEnvelope | undefined, error?: Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else if (reply) pending.resolve(reply);
  }

  private failAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, error);
  }
}
