/**
 * @module directory/service-listing
 * `GET /api/services` across both sources of the directory: this node's registry (`location=local`, the
 * default, so that existing clients see what they always saw) and the records imported from peers
 * (`location=remote`, or `origin=<did>`), or both (`location=all`: local records first, then remote ones, one
 * cursor across both). Imported records are public by construction, so every reader may see them. Local
 * records carry this node's health verdict (through the registry's reads); imported ones `health: "unknown"`,
 * since their origin checks them, not this node.
 */
import type { ListServicesQuery, ListServicesResponse, ServiceFilter, ServiceRecord } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { RegistryService } from "../registry/registry-service.js";
import { InvalidCursorError } from "../storage/contracts/page-cursor.js";
import { REMOTE_CURSOR_PREFIX, REMOTE_START_CURSOR, type ImportedDirectory } from "../federation/imported-directory.js";

export interface ServiceListingDeps {
  registry: RegistryService;
  /** This node's DID: as an `origin` it means the local records. */
  nodeDid: string;
  /** The records imported from peers; without it, remote listings are empty. */
  imported?: ImportedDirectory;
  /** The registry's current revision (what a remote-only page reflects). */
  currentRevision: () => number;
}

/** An imported record as the directory shows it: this node has no health verdict on it. */
export function asImported(record: ServiceRecord): ServiceRecord {
  return { ...record, health: "unknown" };
}

export class ServiceListing {
  constructor(private readonly deps: ServiceListingDeps) {}

  async list(principal: Principal, query: ListServicesQuery): Promise<ListServicesResponse> {
    const { location, origin, ...rest } = query;
    const { registry } = this.deps;
    // This node's own DID as an origin means its own records.
    const where = origin === this.deps.nodeDid ? "local" : origin !== undefined ? "remote" : (location ?? "local");
    if (where === "local") return registry.list(principal, rest);
    const { limit, cursor, ...filter } = rest;
    const remoteFilter: ServiceFilter = { ...filter, ...(origin !== undefined ? { origin } : {}) };
    if (where === "remote" || cursor?.startsWith(REMOTE_CURSOR_PREFIX)) {
      const revision = this.deps.currentRevision();
      return { ...this.remote(remoteFilter, limit, cursor), revision };
    }
    const local = await registry.list(principal, rest);
    if (local.nextCursor !== null) return local;
    if (local.services.length >= limit) return { ...local, nextCursor: REMOTE_START_CURSOR };
    const remote = this.remote(remoteFilter, limit - local.services.length, undefined);
    return { services: [...local.services, ...remote.services], revision: local.revision, nextCursor: remote.nextCursor };
  }

  /** The origins of the imported records with this id: a change to one of them belongs on its origin node. */
  importedOrigins(id: string): string[] {
    return this.deps.imported?.originsOf(id) ?? [];
  }

  private remote(filter: ServiceFilter, limit: number, cursor: string | undefined) {
    const { imported } = this.deps;
    if (!imported) return { services: [], nextCursor: null };
    try {
      const page = imported.query(filter, limit, cursor);
      return { services: page.services.map(asImported), nextCursor: page.nextCursor };
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ApiError("validation_failed", "invalid cursor", [{ path: "cursor", message: "is not a cursor this server issued" }]);
      throw error;
    }
  }
}
