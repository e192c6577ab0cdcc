/**
 * @module klp/service-binding
 * How a service that registers over KLP, with its own key, becomes a registry record, and how such a
 * record is checked later. The record is owned by `klp:<base64url key>` (so only that key, through a signed
 * message, can change it: the registry's owner rule does the rest) and keeps the signed registration in
 * `metadata.klp`, so that anyone can re-check it and any change not signed by the service (a PATCH
 * through the bearer API, an edit of the database) makes the record stop verifying.
 */
import { isDeepStrictEqual } from "node:util";
import { klp, parseJson, ServiceRegistrationSchema, type ServiceRecord, type ServiceRegistration, type FieldError, fieldErrorsFromZod } from "@kai/protocol";

const DID_PREFIX = "kind:did:";
const DID_SUFFIX = "#ed25519";

/** The registry owner of records a DID registered: `klp:` + its key (a DID's `#` is not allowed in owners). */
export function ownerForDid(did: string): string {
  return `klp:${did.slice(DID_PREFIX.length, -DID_SUFFIX.length)}`;
}

export type RegistrationResult = { ok: true; registration: ServiceRegistration } | { ok: false; details: FieldError[] };

/** The registry registration a signed `capability_announce` stands for; `signedText` is kept in the record. */
export function registrationFromEnvelope(envelope: klp.KlpEnvelope, signedText: string): RegistrationResult {
  const payload = klp.KlpRegistrationPayloadSchema.safeParse(envelope.payload);
  if (!payload.success) return { ok: false, details: fieldErrorsFromZod(payload.error).map((e) => ({ ...e, path: `payload.${e.path}` })) };
  const p = payload.data;
  const parsed = ServiceRegistrationSchema.safeParse({
    id: p.serviceId,
    name: p.metadata.name,
    description: p.metadata.description ?? "",
    type: p.type ?? "service",
    capabilities: p.capabilities,
    tags: p.metadata.tags ?? [],
    url: p.host,
    version: p.version,
    // A service announcing itself over KLP wants to be found: public unless it says otherwise.
    visibility: p.visibility ?? "public",
    trustLevel: "unverified",
    metadata: { klp: { did: envelope.from, registration: signedText } },
    ...(p.ttl !== undefined ? { ttl: p.ttl } : {}),
    ...(p.metadata.isLocal !== undefined ? { isLocal: p.metadata.isLocal } : {}),
    ...(p.healthEndpoint !== undefined ? { healthCheck: { path: p.healthEndpoint } } : {}),
  });
  if (!parsed.success) return { ok: false, details: fieldErrorsFromZod(parsed.error) };
  return { ok: true, registration: parsed.data };
}

/** The fields a service's signature vouches for; status, trust level and times are the node's own judgement. */
function signedView(record: Pick<ServiceRecord, "id" | "name" | "description" | "type" | "capabilities" | "tags" | "url" | "version" | "visibility" | "ttl" | "isLocal" | "healthCheck" | "owner">) {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    type: record.type,
    capabilities: record.capabilities,
    tags: record.tags,
    url: record.url,
    version: record.version,
    visibility: record.visibility,
    ttl: record.ttl,
    isLocal: record.isLocal,
    healthPath: record.healthCheck?.path,
    owner: record.owner,
  };
}

/** Drops undefined members: an absent field and an undefined one mean the same here. */
function defined(view: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(view).filter(([, value]) => value !== undefined));
}

export type RecordCheck =
  | { kind: "node"; verified: true }
  | { kind: "service"; signer: string; verified: boolean; reason?: string; registration: string }
  | { kind: "invalid"; reason: string };

/**
 * Who vouches for a record and whether that holds. Records without `metadata.klp` were registered
 * through the authenticated API: the node itself vouches for them. Records with it must carry a
 * registration that verifies, comes from the owner's key, and still says what the record says.
 */
export function checkRecord(record: ServiceRecord): RecordCheck {
  const claim = record.metadata.klp;
  if (claim === undefined) return { kind: "node", verified: true };
  if (typeof claim !== "object" || claim === null) return { kind: "invalid", reason: "metadata.klp is not a KLP registration" };
  const { did, registration } = claim as Record<string, unknown>;
  if (typeof did !== "string" || !klp.publicKeyFromDid(did) || typeof registration !== "string") {
    return { kind: "invalid", reason: "metadata.klp is not a KLP registration" };
  }
  const fail = (reason: string): RecordCheck => ({ kind: "service", signer: did, verified: false, reason, registration });
  const json = parseJson(registration);
  if (!json.ok || typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) return fail("the stored registration is not JSON");
  const raw = json.value as Record<string, unknown>;
  if (raw.from !== did) return fail("the stored registration is from another identity");
  if (!klp.verifyEnvelope(raw)) return fail("the registration's signature does not verify");
  const envelope = klp.KlpEnvelopeSchema.safeParse(raw);
  if (!envelope.success || envelope.data.type !== "capability_announce") return fail("the stored registration is not a capability_announce");
  if (record.owner !== ownerForDid(did)) return fail("the record is not owned by the signing identity");
  const claimed = registrationFromEnvelope(envelope.data, registration);
  if (!claimed.ok) return fail("the signed registration is not a valid registration");
  const r = claimed.registration;
  const expected = signedView({
    id: r.id ?? "",
    name: r.name,
    description: r.description,
    type: r.type,
    capabilities: r.capabilities,
    tags: r.tags,
    url: r.url,
    version: r.version,
    visibility: r.visibility,
    ttl: r.ttl,
    isLocal: r.isLocal,
    healthCheck: r.healthCheck,
    owner: ownerForDid(did),
  });
  if (!isDeepStrictEqual(defined(expected), defined(signedView(record)))) {
    return fail("the record differs from what the service signed");
  }
  return { kind: "service", signer: did, verified: true, registration };
}
