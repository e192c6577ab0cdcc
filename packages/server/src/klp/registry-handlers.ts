/**
 * @module klp/registry-handlers
 * What the node does with an accepted message: `capability_announce` registers (or updates) the sender's
 * service, `heartbeat` to `klp://<service-id>` renews its lease, `service_discovery` answers with verified
 * public entries. Each handler runs the registry's own rules as the principal the sender's DID stands for,
 * so a KLP key can touch only the records it owns; registry errors become KLP error codes.
 */
import { klp, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import type { RegistryService } from "../registry/registry-service.js";
import { ApiError } from "../errors.js";
import type { KlpDiscovery } from "./discovery.js";
import { ownerForDid, registrationFromEnvelope } from "./service-binding.js";

/** Largest discovery answer carried in one message (the HTTP route pages up to 1000). */
export const MESSAGE_DISCOVERY_LIMIT = 100;

/** The registry principal a verified DID acts as: it owns `klp:<key>` records and nothing else. */
export function principalForDid(did: string): Principal {
  return { tokenId: `klp:${did}`, owner: ownerForDid(did), scopes: ["services:read", "services:write", "services:heartbeat"], expiresAt: Number.MAX_SAFE_INTEGER };
}

/** Registry errors as KLP errors: the codes a remote sender can act on; anything else is internal. */
export function klpErrorFromApi(error: unknown): klp.KlpError {
  if (error instanceof klp.KlpError) return error;
  if (!(error instanceof ApiError)) return new klp.KlpError("KLP_INTERNAL", "internal error while handling the message");
  switch (error.code) {
    case "validation_failed":
      return new klp.KlpError("KLP_MALFORMED", error.message, error.details);
    case "not_found":
      return new klp.KlpError("KLP_NOT_FOUND", error.message);
    case "forbidden":
    case "conflict":
      return new klp.KlpError("KLP_UNAUTHORIZED", error.message);
    case "rate_limited":
      return new klp.KlpError("KLP_RATE_LIMITED", error.message);
    default:
      return new klp.KlpError("KLP_INTERNAL", "internal error while handling the message");
  }
}

type Reply = Omit<klp.CreateEnvelopeInput<klp.KlpMessageType>, "to" | "metadata">;

export class RegistryHandlers {
  constructor(
    private readonly registry: RegistryService,
    private readonly discovery: KlpDiscovery,
    private readonly nodeDid: string,
  ) {}

  /** The reply to an accepted message (addressed and signed by the caller), or a KlpError. */
  async handle(envelope: klp.KlpEnvelope): Promise<Reply> {
    switch (envelope.type) {
      case "capability_announce":
        return this.register(envelope);
      case "heartbeat":
        return this.heartbeat(envelope);
      case "service_discovery":
        return this.discover(envelope);
      default:
        throw new klp.KlpError("KLP_NOT_FOUND", `this node does not handle ${envelope.type} messages`);
    }
  }

  private async register(envelope: klp.KlpEnvelope): Promise<Reply> {
    const mapped = registrationFromEnvelope(envelope, klp.canonicalJson(envelope));
    if (!mapped.ok) throw new klp.KlpError("KLP_MALFORMED", "the payload is not a valid service registration", mapped.details);
    const { record, created } = await this.registry.register(principalForDid(envelope.from), mapped.registration);
    return { type: "status_update", payload: this.statusOf(record, created ? "registered" : "updated") };
  }

  private async heartbeat(envelope: klp.KlpEnvelope): Promise<Reply> {
    const address = klp.parseRecipient(envelope.to);
    if (address?.kind !== "service") throw new klp.KlpError("KLP_NOT_FOUND", "a heartbeat goes to klp://<service-id>");
    const payload = klp.HeartbeatPayloadSchema.parse(envelope.payload);
    // KLP's `draining` has no registry status of its own: the service still answers, so it is degraded.
    const status = payload.status === "ok" ? "active" : "degraded";
    const beat = await this.registry.heartbeat(principalForDid(envelope.from), address.serviceId, {
      status,
      ...(payload.status === "draining" ? { note: "draining" } : {}),
    });
    return {
      type: "status_update",
      payload: { status: beat.status, serviceId: beat.id, revision: beat.revision, ...(beat.expiresAt ? { expiresAt: beat.expiresAt } : {}) },
    };
  }

  private async discover(envelope: klp.KlpEnvelope): Promise<Reply> {
    const { capabilities, location, trustLevel } = klp.ServiceDiscoveryPayloadSchema.parse(envelope.payload);
    const query = klp.KlpDiscoveryQuerySchema.safeParse({
      ...(capabilities !== undefined ? { capabilities } : {}),
      ...(location !== undefined ? { location } : {}),
      ...(trustLevel !== undefined ? { trustLevel } : {}),
    });
    if (!query.success) throw new klp.KlpError("KLP_MALFORMED", "the discovery query is not valid");
    const entries = await this.discovery.discover(query.data, MESSAGE_DISCOVERY_LIMIT);
    return { type: "service_discovery", payload: { ...query.data, entries } };
  }

  private statusOf(record: ServiceRecord, status: string) {
    return { status, serviceId: record.id, address: klp.formatKlpAddress(record.id, this.nodeDid), revision: record.revision };
  }
}
