/**
 * @module klp/klp-node
 * The node's KLP endpoint logic, independent of HTTP and WebSocket: every incoming text runs the
 * protocol's acceptance rules (malformed, version, signature, staleness, replay, sender, recipient) with
 * this node's clock, replay memory and policy, and gets exactly one signed answer — the handler's reply or
 * a signed `error`. Also produces the node's signed documents (well-known, discovery, verify) and opens
 * sessions to other nodes. Transports only move text in and out (routes/klp.ts, ws/klp-socket.ts).
 */
import { klp, parseJson, parseJsonBytes } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import type { RegistryService } from "../registry/registry-service.js";
import { KlpDiscovery } from "./discovery.js";
import { RegistryHandlers, klpErrorFromApi, principalForDid } from "./registry-handlers.js";
import { KlpMemoryHandlers } from "./memory-handlers.js";
import { connectPeer, fetchNodeDocument, type KlpPeerSession, type PeerTransportKind } from "./peer-session.js";
import type { KlpKeySource } from "../identity/node-identity.js";
import { memoryRateLimits } from "../cluster/limits/rate-limits.js";
import type { RateLimits, WindowCounter } from "../cluster/limits/limit-types.js";
import type { Span } from "@opentelemetry/api";
import type { NodeTracing } from "../tracing/node-tracing.js";
import { failSpan, inSpan, SpanKind } from "../tracing/spans.js";
import type { PeerTls } from "./peer-tls.js";

export interface KlpNodeOptions {
  /** The node key as KLP sees it: the DID always, the key pair while the vault holds it unlocked. */
  key: KlpKeySource;
  registry: RegistryService;
  /**
   * Reads that answer other nodes (discovery, verification, the recipient check); they may be up to
   * `cache.redis.serviceTtlMs` behind (cluster/redis/redis-extras.ts). Default: the registry itself.
   */
  peerReads?: Pick<RegistryService, "get" | "list">;
  logger: Logger;
  /** Shown in the node document. */
  name: string;
  version: string;
  now?: () => number;
  /** Rule 4's clock window, seconds (default 300); also how long message ids are remembered. */
  stalenessWindowSeconds?: number;
  replay?: klp.ReplayCacheOptions;
  /** Rule 7's rate limit: messages accepted per sender DID per minute (default 1200). */
  messagesPerMinute?: number;
  /**
   * Where rule 7's budget is counted: the node's shared counters when it runs as several instances (so a peer
   * gets the budget once, not once per instance), this process's memory when absent. While the shared store
   * cannot be reached, each instance counts its share (budget ÷ live instances) locally: KLP stays up.
   */
  limits?: RateLimits;
  /**
   * Federation, late-bound: it starts after the node, because it opens its peer sessions through the node
   * (`connect`), while the node answers peers' `state_sync` through it; a construction-order cycle that this
   * function breaks. Read on every use; while it returns undefined (or when absent) the node does not federate.
   */
  federation?: () => KlpFederationPort | undefined;
  /**
   * `memory_read`/`memory_write` (memory-handlers.ts), late-bound: memory embeds through the gateway's router, which
   * is built after the node. While it returns undefined (or when absent) memory messages answer KLP_NOT_FOUND.
   */
  memory?: () => KlpMemoryHandlers | undefined;
  /** The node's tracing: a span per KLP message received and sent (tracing/spans.ts); absent: none. */
  tracing?: NodeTracing;
  /** TLS of the node's connections to other nodes: its client certificate and their CA (peer-tls.ts). */
  peerTls?: PeerTls;
}

/**
 * What the node needs from federation (federation/federation-service.ts implements it). A port, so that
 * `klp/` does not depend on `federation/`, which itself opens KLP sessions.
 */
export interface KlpFederationPort {
  /** Rule 6 for `state_sync`: may this DID pull our public records? */
  mayPull(did: string): boolean;
  answerStateSync(request: klp.StateSyncRequest): Promise<klp.StateSyncAnswer>;
  /** Pushes later changes to a session; returns the unsubscribe function. */
  subscribe(target: { peerDid: string; push(envelope: klp.KlpEnvelope): boolean }): () => void;
  /** Imported records as discovery entries (only statements that verified on arrival are held). */
  remoteEntries(query: klp.KlpDiscoveryQuery, limit: number): klp.KlpDiscoveryEntry[];
}

/** A connection that can carry messages the node sends on its own (WebSocket): federation pushes. */
export interface PushChannel {
  /** Sends unless the connection is closed or too far behind; false then (the subscription ends). */
  push(envelope: klp.KlpEnvelope): boolean;
  onClose(handler: () => void): void;
}

export interface ReceiveOptions {
  /** The peer DID a connection's handshake proved: every message on it must come from that DID. */
  sessionPeer?: string;
  /** Set on WebSocket connections: lets `state_sync { subscribe: true }` subscribe to pushes. */
  channel?: PushChannel;
  /** Message types this entry point takes (e.g. only `capability_announce` on /klp/register). */
  only?: ReadonlySet<klp.KlpMessageType>;
}

export interface ReceiveOutcome {
  reply: klp.KlpEnvelope;
  /** Set when the message was refused or failed; `reply` is then the signed `error`. */
  error?: klp.KlpError;
}

/** The message types this node answers (published in its node document). */
export const HANDLED_TYPES: readonly klp.KlpMessageType[] = ["capability_announce", "heartbeat", "service_discovery", "state_sync"];
const TOPICS = new Set(["registry"]);
const HANDSHAKE_TOPIC = "klp-handshake";

export class KlpNode {
  readonly did: string;
  private readonly options: KlpNodeOptions;
  private readonly replay: klp.ReplayCache;
  private readonly discovery: KlpDiscovery;
  private readonly handlers: RegistryHandlers;
  private readonly now: () => number;
  private readonly sessions = new Set<KlpPeerSession>();
  /** Per-sender budget, checked after the signature (so nobody can spend another sender's budget). */
  private readonly limiter: WindowCounter;
  private readonly messagesPerMinute: number;

  constructor(options: KlpNodeOptions) {
    this.options = options;
    this.did = options.key.did;
    // While the node key is sealed, nothing can be signed: outgoing sessions go (the peers reconnect later).
    options.key.onChange((available) => {
      if (!available) void this.closeSessions("node key sealed");
    });
    this.now = options.now ?? Date.now;
    this.replay = new klp.ReplayCache(options.replay);
    this.messagesPerMinute = options.messagesPerMinute ?? 1200;
    this.limiter = (options.limits ?? memoryRateLimits()).counter("klp_sender", 60_000, { whenDown: "local" });
    this.discovery = new KlpDiscovery(options.peerReads ?? options.registry, this.did, (query, limit) => this.federation?.remoteEntries(query, limit) ?? [], options.logger);
    this.handlers = new RegistryHandlers(options.registry, this.discovery, this.did);
  }

  /** The node's key pair; throws ApiError `vault_locked` while the node key is sealed in a locked vault. */
  get identity(): klp.KlpKeyPair {
    return this.options.key.identity();
  }

  /** False while the node key is sealed: KLP answers `vault_locked` (HTTP) or closes (WebSocket) until then. */
  get available(): boolean {
    return this.options.key.available;
  }

  /** Tells `listener` when the node key becomes available (true) or is sealed again (false). */
  onAvailability(listener: (available: boolean) => void): () => void {
    return this.options.key.onChange(listener);
  }

  /** The federation port, once federation has started (see `KlpNodeOptions.federation`). */
  private get federation(): KlpFederationPort | undefined {
    return this.options.federation?.();
  }

  /** The document of `/.well-known/klp.json`, signed (detached) with the node key. */
  nodeDocument(): klp.KlpNodeDocument {
    return klp.signDocument(
      {
        did: this.did,
        protocols: [klp.KLP_PROTOCOL],
        endpoints: { message: "/klp/message", websocket: "/klp", register: "/klp/register", discover: "/klp/discover", verify: "/klp/verify" },
        name: this.options.name,
        version: this.options.version,
        capabilities: ["register", "discover", "verify", ...(this.federation ? ["federation"] : [])],
        messageTypes: [...HANDLED_TYPES, ...(this.options.memory?.() ? KlpMemoryHandlers.TYPES : [])],
        issuedAt: new Date(this.now()).toISOString(),
      },
      this.identity,
    );
  }

  /** Runs the acceptance rules on one message and handles it; never throws. */
  async receive(text: string | Uint8Array, options: ReceiveOptions = {}): Promise<ReceiveOutcome> {
    // A span per message when the node traces: over HTTP a child of the request's span (and so of the sender's).
    if (!this.options.tracing) return this.receiveMessage(text, options, undefined);
    return inSpan(this.options.tracing, "klp.receive", { kind: SpanKind.SERVER }, async (span) => {
      const outcome = await this.receiveMessage(text, options, span);
      if (outcome.error && span) failSpan(span, outcome.error);
      return outcome;
    });
  }

  private async receiveMessage(text: string | Uint8Array, options: ReceiveOptions, span: Span | undefined): Promise<ReceiveOutcome> {
    // Without the key nothing can be answered (not even a signed refusal): the transport says so instead.
    const identity = this.identity;
    const result = await klp.acceptText(text, this.acceptContext(options.sessionPeer, false));
    if (!result.ok) return this.refuse(result.error, text, options.sessionPeer);
    const envelope = result.envelope;
    span?.setAttributes({ "klp.type": envelope.type, "klp.from": envelope.from });
    if (options.only && !options.only.has(envelope.type)) {
      return this.refuse(new klp.KlpError("KLP_MALFORMED", `this endpoint takes only ${[...options.only].join(", ")} messages`), text, options.sessionPeer);
    }
    try {
      const reply =
        envelope.type === "state_sync" ? await this.stateSync(envelope, options.channel)
        : KlpMemoryHandlers.TYPES.has(envelope.type) ? await this.memory(envelope)
        : await this.handlers.handle(envelope);
      return { reply: klp.createEnvelope({ ...reply, to: envelope.from, metadata: { correlationId: envelope.id } }, identity) };
    } catch (error) {
      const klpError = klpErrorFromApi(error);
      if (klpError.code === "KLP_INTERNAL") this.options.logger.error({ err: error, type: envelope.type, from: envelope.from }, "KLP message handler failed");
      return this.refuse(klpError, text, options.sessionPeer);
    }
  }

  /** `memory_read` / `memory_write`, once memory has started. */
  private memory(envelope: klp.KlpEnvelope): Promise<Omit<klp.CreateEnvelopeInput<klp.KlpMessageType>, "to" | "metadata">> {
    const handlers = this.options.memory?.();
    if (!handlers) throw new klp.KlpError("KLP_NOT_FOUND", "this node does not serve memory over KLP");
    return handlers.handle(envelope);
  }

  /** `state_sync`: one batch of exported statements; with `subscribe` on a WebSocket, pushes from now on. */
  private async stateSync(envelope: klp.KlpEnvelope, channel: PushChannel | undefined): Promise<Omit<klp.CreateEnvelopeInput<"state_sync">, "to" | "metadata">> {
    const federation = this.federation;
    if (!federation) throw new klp.KlpError("KLP_NOT_FOUND", "this node does not federate");
    const request = klp.StateSyncRequestSchema.safeParse(envelope.payload);
    if (!request.success) throw new klp.KlpError("KLP_MALFORMED", "the state_sync request is not valid");
    const answer = await federation.answerStateSync(request.data);
    if (request.data.subscribe && channel) {
      const unsubscribe = federation.subscribe({ peerDid: envelope.from, push: (pushed) => channel.push(pushed) });
      channel.onClose(unsubscribe);
    }
    return { type: "state_sync", payload: answer };
  }

  /** The responder side of the four-step handshake on a fresh connection. */
  answerHandshake(transport: klp.KlpTransport): Promise<klp.HandshakeResult> {
    return klp.answerHandshake(transport, this.identity, { context: this.acceptContext(undefined, true), timeoutMs: 10_000 });
  }

  /** The signed error reply for a handshake that failed (sent before the connection is closed). */
  handshakeError(error: unknown): klp.KlpEnvelope {
    const klpError = error instanceof klp.KlpError ? error : new klp.KlpError("KLP_INTERNAL", "handshake failed");
    return klp.createErrorReply(klpError, undefined, this.identity, `topic:${HANDSHAKE_TOPIC}`);
  }

  /** `GET /klp/discover`: verified public entries, signed by the node. */
  async discoveryAnswer(query: klp.KlpDiscoveryQuery, limit: number): Promise<klp.KlpDiscoveryAnswer> {
    const entries = await this.discovery.discover(query, limit);
    return klp.signDocument({ node: this.did, issuedAt: new Date(this.now()).toISOString(), query, entries }, this.identity);
  }

  /** `GET /klp/verify`: the record, who signed it and whether it verifies; `undefined` when not public here. */
  async verifyAnswer(serviceId: string): Promise<klp.KlpVerifyAnswer | undefined> {
    const checked = await this.discovery.verify(serviceId);
    if (!checked) return undefined;
    return klp.signDocument(
      {
        node: this.did,
        issuedAt: new Date(this.now()).toISOString(),
        serviceId,
        signer: checked.entry.signer,
        verified: checked.verified,
        ...(checked.reason !== undefined ? { reason: checked.reason } : {}),
        entry: checked.entry,
      },
      this.identity,
    );
  }

  /** Reads another node's signed document (`/.well-known/klp.json`), over this node's peer TLS. */
  readNodeDocument(baseUrl: string, timeoutMs = 10_000): Promise<klp.KlpNodeDocument> {
    return fetchNodeDocument(baseUrl, timeoutMs, this.options.peerTls);
  }

  /** Opens a session from this node to another one (its DID read from its signed node document, or pinned). */
  async connect(baseUrl: string, via: PeerTransportKind, expectDid?: string): Promise<KlpPeerSession> {
    const session = await connectPeer(baseUrl, this.identity, via, {
      ...(expectDid !== undefined ? { expectDid } : {}),
      ...(this.options.tracing ? { tracing: this.options.tracing } : {}),
      ...(this.options.peerTls ? { tls: this.options.peerTls } : {}),
      now: this.now,
    });
    this.sessions.add(session);
    session.onClose(() => this.sessions.delete(session));
    return session;
  }

  async close(): Promise<void> {
    await this.closeSessions("node shutting down");
  }

  private async closeSessions(reason: string): Promise<void> {
    await Promise.all([...this.sessions].map((session) => session.close(reason).catch(() => undefined)));
  }

  private acceptContext(sessionPeer: string | undefined, handshake: boolean): klp.AcceptContext {
    return {
      now: this.now,
      ...(this.options.stalenessWindowSeconds !== undefined ? { stalenessWindowSeconds: this.options.stalenessWindowSeconds } : {}),
      replayCache: this.replay,
      trust: (envelope) => this.trust(envelope, sessionPeer),
      recipientExists: (address, envelope) => this.recipientExists(address, envelope, handshake),
      // The handshake is not counted: a connection's four messages should not eat its sender's budget.
      ...(handshake ? {} : { allowRate: (envelope: klp.KlpEnvelope) => this.allowRate(envelope) }),
    };
  }

  /** Rule 6: connection peers, peer-only types (no peers are trusted before federation), registration grants. */
  private trust(envelope: klp.KlpEnvelope, sessionPeer: string | undefined): klp.TrustDecision {
    if (sessionPeer !== undefined && envelope.from !== sessionPeer) {
      return { ok: false, code: "KLP_UNKNOWN_SENDER", message: "the sender is not the identity this connection was opened with" };
    }
    if (envelope.type === "state_sync" && this.federation?.mayPull(envelope.from)) return { ok: true };
    if (klp.PEER_ONLY_TYPES.has(envelope.type)) return { ok: false, code: "KLP_UNKNOWN_SENDER", message: `${envelope.type} is accepted only from a trusted peer` };
    if (envelope.type === "capability_announce") {
      // Anyone can make a key; registering needs a grant from this node, so the registry is not open to all comers.
      if (!envelope.auth) return { ok: false, code: "KLP_UNAUTHORIZED", message: `registering needs a grant for ${klp.KLP_REGISTER_CAPABILITY} issued by this node` };
      const grant = klp.verifyGrant(envelope.auth, {
        sender: envelope.from,
        nowMs: this.now(),
        requiredCapability: klp.KLP_REGISTER_CAPABILITY,
        isTrustedIssuer: (did) => did === this.did,
      });
      if (!grant.ok) return { ok: false, code: "KLP_UNAUTHORIZED", message: grant.reason };
    }
    return { ok: true };
  }

  /** Rule 7: this node's DID, its topics, and services the sender may see (by `klp://` address). */
  private async recipientExists(address: klp.KlpAddress, envelope: klp.KlpEnvelope, handshake: boolean): Promise<boolean> {
    if (address.kind === "did") return address.did === this.did;
    if (address.kind === "topic") return handshake ? address.topic === HANDSHAKE_TOPIC : TOPICS.has(address.topic);
    if (address.nodeDid !== undefined && address.nodeDid !== this.did) return false;
    try {
      await (this.options.peerReads ?? this.options.registry).get(principalForDid(envelope.from), address.serviceId);
      return true;
    } catch (error) {
      if (klpErrorFromApi(error).code === "KLP_NOT_FOUND") return false;
      throw error;
    }
  }

  private async allowRate(envelope: klp.KlpEnvelope): Promise<boolean> {
    // One atomic add per message; the sender is within its budget while the window's total is.
    const count = await this.limiter.add(envelope.from);
    return count.total <= this.messagesPerMinute;
  }

  private refuse(error: klp.KlpError, text: string | Uint8Array, fallbackTo: string | undefined): ReceiveOutcome {
    // Bytes come from POST /klp/message, decoded only by the acceptance rules (invalid UTF-8 is malformed there).
    const raw = typeof text === "string" ? parseJson(text) : parseJsonBytes(text);
    this.options.logger.debug({ code: error.code }, "KLP message refused");
    return { reply: klp.createErrorReply(error, raw.ok ? raw.value : undefined, this.identity, fallbackTo), error };
  }
}
