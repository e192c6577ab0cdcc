/**
 * @module federation/statements
 * Making and checking federation statements (protocol: klp/federation.ts). The origin signs what it
 * exports; an importer checks every statement on its own — schema, origin, signature — before anything of
 * it is kept, and turns a kept statement into the read-only record discovery shows.
 */
import { klp, type ServiceRecord } from "@kai/protocol";

/** The part of a local record that may leave the node (see `ExportedRecordSchema` for what stays home). */
export function exportedRecordOf(record: ServiceRecord): klp.ExportedRecord {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    type: record.type,
    ...(record.provider !== undefined ? { provider: record.provider } : {}),
    capabilities: record.capabilities,
    tags: record.tags,
    ...(record.url !== undefined ? { url: record.url } : {}),
    ...(record.protocol !== undefined ? { protocol: record.protocol } : {}),
    endpoints: record.endpoints,
    ...(record.version !== undefined ? { version: record.version } : {}),
    trustLevel: record.trustLevel,
    metadata: record.metadata,
    ...(record.isLocal !== undefined ? { isLocal: record.isLocal } : {}),
    heartbeat: record.heartbeat,
    status: record.status,
    ...(record.statusNote !== undefined ? { statusNote: record.statusNote } : {}),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/**
 * The signed statement of a public record, or `undefined` when the record cannot be signed: it holds text
 * that cannot be canonicalised (an unpaired surrogate, stored before the API refused them or written around
 * it). The caller leaves that one record out, so that it cannot fail a whole `state_sync` answer or push.
 */
export function signRecordStatement(record: ServiceRecord, identity: klp.KlpKeyPair, nowMs: number, ttlSeconds: number): klp.RecordStatement | undefined {
  const exported = exportedRecordOf(record);
  if (!klp.canonicalisable(exported)) return undefined;
  return klp.signDocument(
    {
      kind: "record" as const,
      origin: identity.did,
      serviceId: record.id,
      originRevision: record.revision,
      issuedAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + ttlSeconds * 1000).toISOString(),
      record: exported,
    },
    identity,
  );
}

export function signTombstone(serviceId: string, revision: number, identity: klp.KlpKeyPair, nowMs: number): klp.TombstoneStatement {
  return klp.signDocument(
    { kind: "tombstone" as const, origin: identity.did, serviceId, originRevision: revision, issuedAt: new Date(nowMs).toISOString() },
    identity,
  );
}

export type StatementCheck = { ok: true; statement: klp.FederationStatement } | { ok: false; code: klp.KlpErrorCode; message: string };

/**
 * Checks one statement that `sender` passed on. The order matters for the counted reason: a statement for
 * another origin is refused as such (`KLP_UNAUTHORIZED`) before its signature is even looked at, because a
 * peer may only speak for itself (it could not be re-exporting someone else's record honestly either).
 */
export function checkStatement(raw: unknown, sender: string): StatementCheck {
  const parsed = klp.FederationStatementSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, code: "KLP_MALFORMED", message: "not a valid federation statement" };
  const statement = parsed.data;
  if (statement.origin !== sender) return { ok: false, code: "KLP_UNAUTHORIZED", message: "a peer may only send statements of its own records" };
  if (!klp.verifyDocument(raw as Record<string, unknown>, statement.origin)) return { ok: false, code: "KLP_BAD_SIGNATURE", message: "the statement's signature does not verify" };
  if (statement.kind === "record") {
    if (statement.record.id !== statement.serviceId) return { ok: false, code: "KLP_MALFORMED", message: "the statement's record is not the service it names" };
    if (Date.parse(statement.expiresAt) <= Date.parse(statement.issuedAt)) return { ok: false, code: "KLP_MALFORMED", message: "the statement expires before it was issued" };
  }
  return { ok: true, statement };
}

/** An imported statement as the read-only record discovery shows (origin named, nothing of the origin's own business). */
export function importedServiceRecord(statement: klp.RecordStatement): ServiceRecord {
  const r = statement.record;
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    type: r.type,
    ...(r.provider !== undefined ? { provider: r.provider } : {}),
    capabilities: r.capabilities,
    tags: r.tags,
    ...(r.url !== undefined ? { url: r.url } : {}),
    ...(r.protocol !== undefined ? { protocol: r.protocol } : {}),
    // Credentials never travel: the origin's own auth is none of this node's business.
    auth: { type: "none" },
    endpoints: r.endpoints.map((e) => ({
      path: e.path,
      method: e.method,
      ...(e.description !== undefined ? { description: e.description } : {}),
      ...(e.capability !== undefined ? { capability: e.capability } : {}),
    })),
    ...(r.version !== undefined ? { version: r.version } : {}),
    owner: `node:${statement.origin}`,
    visibility: "public",
    trustLevel: r.trustLevel,
    metadata: r.metadata,
    ...(r.isLocal !== undefined ? { isLocal: r.isLocal } : {}),
    heartbeat: r.heartbeat,
    status: r.status,
    ...(r.statusNote !== undefined ? { statusNote: r.statusNote } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    revision: statement.originRevision,
    origin: statement.origin,
    originExpiresAt: statement.expiresAt,
  };
}
