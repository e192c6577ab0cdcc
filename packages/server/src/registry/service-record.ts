/**
 * @module registry/service-record
 * Pure functions that build and compare service records: from a registration, from a patch, and the
 * test for "did anything change" that keeps no-op re-registrations from becoming events.
 */
import { isDeepStrictEqual } from "node:util";
import type { ServiceAuth, ServicePatch, ServiceRecord, ServiceRegistration } from "@kai/protocol";
import type { ServiceDraft } from "../storage/contracts/node-store.js";

/** `http`/`https`/`ws`/`klp` from a URL's scheme when the registration does not say. */
export function protocolFromUrl(url: string | undefined): ServiceRecord["protocol"] {
  if (!url) return undefined;
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  if (scheme === "https") return "https";
  if (scheme === "ws" || scheme === "wss") return "ws";
  if (scheme === "klp") return "klp";
  return "http";
}

/** Drops keys whose value is undefined, so that stored JSON and comparisons are canonical. */
function compact<T extends object>(value: T): T {
  // A loop rather than fromEntries(entries().filter()): no arrays of pairs on every registration and patch.
  const result: Record<string, unknown> = {};
  for (const key in value) {
    const field = value[key];
    if (field !== undefined) result[key] = field;
  }
  return result as T;
}

/**
 * The record a registration makes, its fields in the stored order and undefined ones left out. Built as one object
 * (not a literal then `compact`ed, with the caller's `{ ...input, auth }` before it): a bulk registration builds a
 * thousand of these per request, and each copy was garbage to collect. `auth` is the registration's auth with any
 * raw token already replaced by its vault reference.
 */
export function recordFromRegistration(input: ServiceRegistration, auth: ServiceAuth, id: string, owner: string, existing: ServiceRecord | null, nowIso: string): ServiceDraft {
  // Named stores, one per field, not a helper taking the key: V8 turns an object that gets more than ~12 properties
  // through computed keys into a dictionary (slow to read, copy and encode, and ~1 KB larger); with named stores it
  // stays a fast object with one hidden class per shape of registration.
  const draft: Partial<Record<keyof ServiceRecord, unknown>> = { id };
  if (input.name !== undefined) draft.name = input.name;
  if (input.description !== undefined) draft.description = input.description;
  if (input.type !== undefined) draft.type = input.type;
  if (input.provider !== undefined) draft.provider = input.provider;
  if (input.capabilities !== undefined) draft.capabilities = input.capabilities;
  if (input.tags !== undefined) draft.tags = input.tags;
  if (input.url !== undefined) draft.url = input.url;
  const protocol = input.protocol ?? protocolFromUrl(input.url);
  if (protocol !== undefined) draft.protocol = protocol;
  draft.auth = auth;
  if (input.endpoints !== undefined) draft.endpoints = input.endpoints;
  if (input.healthCheck !== undefined) draft.healthCheck = input.healthCheck;
  if (input.rateLimit !== undefined) draft.rateLimit = input.rateLimit;
  if (input.version !== undefined) draft.version = input.version;
  draft.owner = owner;
  if (input.visibility !== undefined) draft.visibility = input.visibility;
  if (input.trustLevel !== undefined) draft.trustLevel = input.trustLevel;
  if (input.metadata !== undefined) draft.metadata = input.metadata;
  if (input.ttl !== undefined) draft.ttl = input.ttl;
  if (input.isLocal !== undefined) draft.isLocal = input.isLocal;
  // Registering is hearing from the service: it counts as a heartbeat.
  draft.heartbeat = nowIso;
  if (input.status !== undefined) draft.status = input.status;
  draft.createdAt = existing?.createdAt ?? nowIso;
  draft.updatedAt = nowIso;
  return draft as unknown as ServiceDraft;
}

/** Applies a merge patch; `null` removes an optional field. */
export function applyPatch(record: ServiceRecord, patch: ServicePatch, nowIso: string): ServiceDraft {
  const { revision: _revision, ...base } = record;
  const next: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (key === "expectedRevision" || value === undefined) continue;
    next[key] = value === null ? undefined : value;
  }
  if (patch.url !== undefined && patch.protocol === undefined) next.protocol = protocolFromUrl(next.url as string | undefined);
  if (patch.status !== undefined && patch.status !== record.status) next.statusNote = undefined;
  next.updatedAt = nowIso;
  return compact(next as ServiceDraft);
}

/** The record with a new status (and the note explaining it; none clears the old one). */
export function withStatus(
  record: ServiceRecord,
  status: ServiceRecord["status"],
  note: string | undefined,
  nowIso: string,
  heartbeatIso?: string,
): ServiceDraft {
  const { revision: _revision, statusNote: _note, ...rest } = record;
  return {
    ...rest,
    status,
    updatedAt: nowIso,
    ...(heartbeatIso !== undefined ? { heartbeat: heartbeatIso } : {}),
    ...(note !== undefined ? { statusNote: note } : {}),
  };
}

const VOLATILE_FIELDS = new Set(["updatedAt", "heartbeat", "revision", "createdAt"]);

function withoutVolatile(record: ServiceDraft | ServiceRecord): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key, value]) => !VOLATILE_FIELDS.has(key) && value !== undefined));
}

/** What kind of change `next` is compared to `previous`: none, only the status, or more. */
export function classifyChange(previous: ServiceRecord, next: ServiceDraft): "none" | "status_changed" | "updated" {
  const a = withoutVolatile(previous);
  const b = withoutVolatile(next);
  if (isDeepStrictEqual(a, b)) return "none";
  const { status: _sa, statusNote: _na, ...restA } = a;
  const { status: _sb, statusNote: _nb, ...restB } = b;
  return isDeepStrictEqual(restA, restB) ? "status_changed" : "updated";
}
