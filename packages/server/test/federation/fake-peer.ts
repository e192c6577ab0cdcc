/**
 * @module test/federation/fake-peer
 * A KLP node under the test's control, for what a real node never sends: it serves a signed node document
 * and the `/klp` WebSocket (real handshake, real signatures), answers `state_sync` with whatever statements
 * the test gives it, and pushes whatever envelopes or raw text the test wants to the subscribed session.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { klp, parseJson } from "@kai/protocol";
import { WebSocketTransport } from "../../src/klp/ws-transport.js";

export class FakePeer {
  readonly identity = klp.generateKeyPair();
  /** Statements the next `state_sync` answers carry (changes mode, everything at `revision`). */
  statements: unknown[] = [];
  revision = 1;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private subscriber: { transport: WebSocketTransport; did: string } | null = null;
  private subscribed: Array<() => void> = [];
  url = "";

  private constructor() {
    this.http = createServer((request, response) => {
      if (request.url === "/.well-known/klp.json") {
        const document = klp.signDocument(
          {
            did: this.identity.did,
            protocols: [klp.KLP_PROTOCOL],
            endpoints: { message: "/klp/message", websocket: "/klp", register: "/klp/register", discover: "/klp/discover", verify: "/klp/verify" },
            name: "fake peer",
            version: "0.0.0",
            capabilities: ["federation"],
            messageTypes: ["state_sync"],
            issuedAt: new Date().toISOString(),
          },
          this.identity,
        );
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
        return;
      }
      response.writeHead(404).end();
    });
    this.wss = new WebSocketServer({ server: this.http, path: "/klp" });
    this.wss.on("connection", (socket) => void this.serve(new WebSocketTransport(socket)));
  }

  static async start(): Promise<FakePeer> {
    const peer = new FakePeer();
    await new Promise<void>((resolve) => peer.http.listen(0, "127.0.0.1", resolve));
    peer.url = `http://127.0.0.1:${(peer.http.address() as AddressInfo).port}`;
    return peer;
  }

  /** Resolves once a node has subscribed to pushes. */
  whenSubscribed(): Promise<void> {
    if (this.subscriber) return Promise.resolve();
    return new Promise((resolve) => this.subscribed.push(resolve));
  }

  /** Sends raw text to the subscribed node, exactly as given. */
  async pushText(text: string): Promise<void> {
    if (!this.subscriber) throw new Error("nobody subscribed");
    await this.subscriber.transport.send(text);
  }

  /** A push of one statement, signed by `signer` (this peer by default). */
  pushEnvelope(statement: unknown, options: { signer?: klp.KlpKeyPair; timestamp?: Date } = {}): klp.KlpEnvelope {
    if (!this.subscriber) throw new Error("nobody subscribed");
    return klp.createEnvelope(
      {
        type: "capability_announce",
        to: this.subscriber.did,
        payload: { serviceId: (statement as { serviceId?: string }).serviceId ?? "x", version: "1.0.0", capabilities: [], statements: [statement] },
        ...(options.timestamp ? { timestamp: options.timestamp } : {}),
      },
      options.signer ?? this.identity,
    );
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async serve(transport: WebSocketTransport): Promise<void> {
    const context: klp.AcceptContext = { replayCache: new klp.ReplayCache() };
    const { peerDid } = await klp.answerHandshake(transport, this.identity, { context, timeoutMs: 5000 });
    transport.onMessage((text) => {
      const json = parseJson(text);
      const envelope = json.ok ? klp.KlpEnvelopeSchema.safeParse(json.value) : undefined;
      if (!envelope?.success || envelope.data.type !== "state_sync") return;
      const request = klp.StateSyncRequestSchema.parse(envelope.data.payload);
      const answer: klp.StateSyncAnswer = {
        sinceRevision: request.sinceRevision,
        mode: "changes",
        revision: this.revision,
        headRevision: this.revision,
        epoch: "fake-epoch",
        // Like a real node: only what changed after the asker's cursor.
        statements: request.sinceRevision < this.revision ? this.statements : [],
        more: false,
      };
      const reply = klp.createEnvelope({ type: "state_sync", to: peerDid, payload: answer, metadata: { correlationId: envelope.data.id } }, this.identity);
      void transport.send(JSON.stringify(reply)).then(() => {
        if (request.subscribe) {
          this.subscriber = { transport, did: peerDid };
          for (const resolve of this.subscribed.splice(0)) resolve();
        }
      });
    });
  }
}

/** A record statement as `origin` would sign it (pass another key as `signer` to forge one). */
export function recordStatement(origin: string, serviceId: string, revision: number, signer: klp.KlpKeyPair, overrides: Record<string, unknown> = {}): klp.RecordStatement {
  const now = Date.now();
  const unsigned: Record<string, unknown> = {
      kind: "record" as const,
      origin,
      serviceId,
      originRevision: revision,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 3_600_000).toISOString(),
      record: {
        id: serviceId,
        name: serviceId,
        description: "",
        type: "service",
        capabilities: ["llm_chat"],
        tags: [],
        endpoints: [],
        trustLevel: "unverified",
        metadata: {},
        heartbeat: null,
        status: "active",
        createdAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
      },
      ...overrides,
  };
  // A test may make it invalid on purpose (overrides), so the type is asserted, not derived.
  return klp.signDocument(unsigned, signer) as klp.RecordStatement;
}

export function tombstone(origin: string, serviceId: string, revision: number, signer: klp.KlpKeyPair): klp.TombstoneStatement {
  return klp.signDocument({ kind: "tombstone" as const, origin, serviceId, originRevision: revision, issuedAt: new Date().toISOString() }, signer);
}
