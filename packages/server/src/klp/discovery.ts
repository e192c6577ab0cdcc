/**
 * @module klp/discovery
 * KLP discovery and verification over the local registry. Only `public` records ever leave the node
 * (`internal` and `private` ones are filtered by the query *and* re-checked per record), and a record
 * whose signature does not hold (see service-binding.ts) is dropped from discovery, never returned.
 * Every answer is signed as a whole, so an entry that cannot be canonicalised (text with an unpaired
 * surrogate, stored before the API refused it or written around it) is left out and logged by id, instead
 * of failing the answer for every other record; `verify` treats such a record as not public here.
 */
import { klp, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import type { RegistryService } from "../registry/registry-service.js";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import { checkRecord } from "./service-binding.js";

/**
 * The reader discovery runs as: no scopes beyond reading, and an owner no record can have (`#` is not
 * allowed in owners), so the registry's visibility rule gives it nothing but `public`/`internal` records.
 */
const PUBLIC_READER: Principal = { tokenId: "klp-discovery", owner: "#klp-public", scopes: ["services:read"], expiresAt: Number.MAX_SAFE_INTEGER };

/** How many records one discovery reads at most while filtering, so that a query cannot scan without bound. */
const MAX_SCANNED = 10_000;

/** Distinct unsignable records logged at most (each once: discovery is public, and must not be a log pump). */
const MAX_REPORTED_UNSIGNABLE = 1000;

export type CheckedEntry = { entry: klp.KlpDiscoveryEntry; verified: boolean; reason?: string };

/** Where an entry says a record lives and who vouches for it. */
export interface EntryProvenance {
  location: "local" | "remote";
  /** The node the record lives on. */
  origin: string;
  /** The service's DID when it registered with its own key, else the origin's. */
  signer: string;
  /** The service's own signed registration, when it has one. */
  registration?: string;
}

/** The discovery entry of a record (local or imported) with its provenance. */
export function discoveryEntry(record: ServiceRecord, provenance: EntryProvenance): klp.KlpDiscoveryEntry {
  return {
    serviceId: record.id,
    address: klp.formatKlpAddress(record.id, provenance.origin),
    name: record.name,
    description: record.description,
    type: record.type,
    capabilities: record.capabilities,
    tags: record.tags,
    ...(record.version !== undefined ? { version: record.version } : {}),
    ...(record.url !== undefined ? { url: record.url } : {}),
    ...(record.isLocal !== undefined ? { isLocal: record.isLocal } : {}),
    status: record.status,
    trustLevel: klp.KLP_TRUST_LEVELS[record.trustLevel],
    location: provenance.location,
    origin: provenance.origin,
    signer: provenance.signer,
    revision: record.revision,
    ...(provenance.registration !== undefined ? { registration: provenance.registration } : {}),
  };
}

/** A record of this node as a discovery entry, with who vouches for it; `undefined` when it may not leave the node. */
export function entryOf(record: ServiceRecord, nodeDid: string): CheckedEntry | undefined {
  if (record.visibility !== "public") return undefined;
  const check = checkRecord(record);
  const entry = discoveryEntry(record, {
    location: "local",
    origin: nodeDid,
    signer: check.kind === "service" ? check.signer : nodeDid,
    ...(check.kind === "service" ? { registration: check.registration } : {}),
  });
  if (check.kind === "invalid") return { entry, verified: false, reason: check.reason };
  return { entry, verified: check.verified, ...(check.kind === "service" && check.reason ? { reason: check.reason } : {}) };
}

/** Entries imported from federation peers (none when the node does not federate). */
export type RemoteEntries = (query: klp.KlpDiscoveryQuery, limit: number) => klp.KlpDiscoveryEntry[];

export class KlpDiscovery {
  private readonly reportedUnsignable = new Set<string>();

  constructor(
    private readonly registry: Pick<RegistryService, "get" | "list">,
    private readonly nodeDid: string,
    private readonly remote: RemoteEntries = () => [],
    private readonly logger?: Logger,
  ) {}

  /** Verified public entries matching the query, at most `limit`: local ones first, then imported ones (unless a location is given). */
  async discover(query: klp.KlpDiscoveryQuery, limit: number): Promise<klp.KlpDiscoveryEntry[]> {
    if (query.location === "remote") return this.remoteSignable(query, limit);
    const local = await this.discoverLocal(query, limit);
    if (query.location === "local" || local.length >= limit) return local;
    return [...local, ...this.remoteSignable(query, limit - local.length)];
  }

  /** Imported entries come from verified statements, but are read back from storage like any record. */
  private remoteSignable(query: klp.KlpDiscoveryQuery, limit: number): klp.KlpDiscoveryEntry[] {
    return this.remote(query, limit).filter((entry) => this.signable(entry));
  }

  /** True when `entry` can go into a signed answer; logs the record's id (once) when it cannot. */
  private signable(entry: klp.KlpDiscoveryEntry): boolean {
    if (klp.canonicalisable(entry)) return true;
    if (!this.reportedUnsignable.has(entry.serviceId) && this.reportedUnsignable.size < MAX_REPORTED_UNSIGNABLE) {
      this.reportedUnsignable.add(entry.serviceId);
      this.logger?.warn({ serviceId: entry.serviceId, origin: entry.origin }, "KLP discovery: a public record holds text that cannot be signed (an unpaired surrogate); it is left out");
    }
    return false;
  }

  private async discoverLocal(query: klp.KlpDiscoveryQuery, limit: number): Promise<klp.KlpDiscoveryEntry[]> {
    const entries: klp.KlpDiscoveryEntry[] = [];
    let cursor: string | undefined;
    let scanned = 0;
    do {
      const page = await this.registry.list(PUBLIC_READER, {
        visibility: "public",
        ...(query.capabilities?.length ? { capability: query.capabilities } : {}),
        limit: Math.min(1000, Math.max(limit, 100)),
        ...(cursor !== undefined ? { cursor } : {}),
      });
      for (const record of page.services) {
        const checked = entryOf(record, this.nodeDid);
        if (!checked?.verified || !this.signable(checked.entry)) continue;
        if (query.trustLevel !== undefined && checked.entry.trustLevel < query.trustLevel) continue;
        entries.push(checked.entry);
        if (entries.length >= limit) return entries;
      }
      scanned += page.services.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && scanned < MAX_SCANNED);
    return entries;
  }

  /** The public record with its check, or `undefined` when there is none (or it may not leave the node). */
  async verify(serviceId: string): Promise<CheckedEntry | undefined> {
    let record: ServiceRecord;
    try {
      record = await this.registry.get(PUBLIC_READER, serviceId);
    } catch (error) {
      if (error instanceof ApiError && error.code === "not_found") return undefined;
      throw error;
    }
    const checked = entryOf(record, this.nodeDid);
    // The answer is signed with the entry in it: a record that cannot be signed is not served here either.
    if (checked && !this.signable(checked.entry)) return undefined;
    return checked;
  }
}
