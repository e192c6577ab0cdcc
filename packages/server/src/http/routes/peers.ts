/**
 * @module http/routes/peers
 * `/api/peers`: the federation peers this node imports records from (scope `federation:admin`). Adding a
 * peer reads its signed node document and pins the DID it names (or checks the one given); the answer
 * shows that DID so the operator can confirm it out of band. Listing shows each peer's liveness and sync
 * state. A DID in a path is percent-encoded (`#` is `%23`).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, klp } from "@kai/protocol";
import type { FederationService } from "../../federation/federation-service.js";
import type { LanDiscovery } from "../../federation/lan-discovery.js";

/** What the discovered-peers route reads: the running LAN discovery, if any (it starts once the node listens). */
export type LanDiscoveryView = () => LanDiscovery | null;

const DiscoverQuerySchema = z.strictObject({
  /** Ask the LAN again and wait this long for answers before listing, ms. */
  waitMs: z.coerce.number().int().min(0).max(5000).default(0),
});

const DidParamsSchema = z.strictObject({ did: klp.DidSchema });
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema };
const security = [{ bearer: [] }];
const scopes = ["federation:admin" as const];

export function peersRoutes(federation: FederationService, lan?: LanDiscoveryView): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/peers/discovered", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["federation"],
        summary: "Nodes heard on the LAN by mDNS (federation.mdns)",
        description:
          "Unauthenticated announcements: adding one (`POST /api/peers` with its `url` and `did`) reads its signed node document and pins the DID, refusing a node that is not the one announced. `waitMs` asks the LAN again and waits that long first.",
        security,
        querystring: DiscoverQuerySchema,
        response: { 200: klp.DiscoveredPeerListResponseSchema, ...errors },
      },
    }, async (request) => {
      const discovery = lan?.() ?? null;
      if (!discovery) return { enabled: false, advertising: false, peers: [] };
      if (request.query.waitMs > 0) {
        discovery.refresh();
        await new Promise((resolve) => setTimeout(resolve, request.query.waitMs));
      }
      const known = new Set(federation.listPeers().map((peer) => peer.did));
      return { enabled: true, advertising: discovery.advertising, peers: discovery.list().map((peer) => ({ ...peer, known: known.has(peer.did) })) };
    });

    app.get("/api/peers", {
      config: { scopes, bucket: "read" },
      schema: { tags: ["federation"], summary: "List federation peers with their sync state", security, response: { 200: klp.PeerListResponseSchema, ...errors } },
    }, async () => ({ peers: federation.listPeers() }));

    app.post("/api/peers", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["federation"],
        summary: "Add (or update) a peer to import public records from",
        description:
          "Reads the peer's `/.well-known/klp.json` and pins its DID (or refuses with `peer_identity_mismatch` when it is not the `did` given). 201 for a new peer, 200 for an update. One-way: the peer does not have to add this node back.",
        security,
        body: klp.AddPeerRequestSchema,
        response: { 200: klp.PeerInfoSchema, 201: klp.PeerInfoSchema, ...errors },
      },
    }, async (request, reply) => {
      const { peer, created } = await federation.addPeer(request.body);
      return reply.status(created ? 201 : 200).send(peer);
    });

    app.post("/api/peers/sync", {
      config: { scopes, bucket: "write" },
      schema: { tags: ["federation"], summary: "Pull from every connected peer now; answers when each is caught up", security, response: { 200: klp.PeerListResponseSchema, ...errors } },
    }, async () => {
      await federation.syncAll();
      return { peers: federation.listPeers() };
    });

    app.get("/api/peers/:did", {
      config: { scopes, bucket: "read" },
      schema: { tags: ["federation"], summary: "One peer's sync state", security, params: DidParamsSchema, response: { 200: klp.PeerInfoSchema, ...errors } },
    }, async (request) => federation.getPeer(request.params.did));

    app.patch("/api/peers/:did", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["federation"],
        summary: "Trust a peer again, or withdraw trust (its records are dropped and its link cut; it stays listed)",
        security,
        params: DidParamsSchema,
        body: klp.UpdatePeerRequestSchema,
        response: { 200: klp.PeerInfoSchema, ...errors },
      },
    }, async (request) => federation.setTrusted(request.params.did, request.body.trusted));

    app.delete("/api/peers/:did", {
      config: { scopes, bucket: "write" },
      schema: { tags: ["federation"], summary: "Remove a peer and every record imported from it", security, params: DidParamsSchema, response: { 204: z.null().describe("Removed"), ...errors } },
    }, async (request, reply) => {
      await federation.removePeer(request.params.did);
      return reply.status(204).send(null);
    });
  };
}
