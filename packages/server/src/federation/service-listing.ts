/**
 * @module federation/service-listing
 * `GET /api/services` across both sources: this node's registry (`location=local`, the default, so that
 * existing clients see what they always saw) and the records imported from peers (`location=remote`, or
 * `origin=<did>`), or both (`location=all`: local records first, then remote ones, one cursor across both).
 * Imported records are public by construction, so every reader may see them.
 */
import type { ListServicesQuery, ListServicesResponse, ServiceFilter } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { RegistryService } from "../registry/registry-service.js";
import { InvalidCursorError } from "../storage/contracts/page-cursor.js";
import { REMOTE_CURSOR_PREFIX, REMOTE_START_CURSOR, type ImportedDirectory } from "./imported-directory.js";

export class ServiceListing {
  constructor(
    private readonly registry: RegistryService,
    private readonly nodeDid: string,
    private readonly directory: ImportedDirectory | undefined,
    private readonly currentRevision: () => number,
  ) {}

  async list(principal: Principal, query: ListServicesQuery): Promise<ListServicesResponse> {
    const { location, origin, ...rest } = query;
    // This node's own DID as an origin means its own records.
    const where = origin === this.nodeDid ? "local" : origin !== undefined ? "remote" : (location ?? "local");
    if (where === "local") return this.registry.list(principal, rest);
    const { limit, cursor, ...filter } = rest;
    const remoteFilter: ServiceFilter = { ...filter, ...(origin !== undefined ? { origin } : {}) };
    if (where === "remote" || cursor?.startsWith(REMOTE_CURSOR_PREFIX)) {
      const revision = this.currentRevision();
      return { ...this.remote(remoteFilter, limit, cursor), revision };
    }
    const local = await this.registry.list(principal, rest);
    if (local.nextCursor !== null) return local;
    if (local.services.length >= limit) return { ...local, nextCursor: REMOTE_START_CURSOR };
    const remote = this.remote(remoteFilter, limit - local.services.length, undefined);
    return { services: [...local.services, ...remote.services], revision: local.revision, nextCursor: remote.nextCursor };
  }

  private remote(filter: ServiceFilter, limit: number, cursor: string | undefined) {
    if (!this.directory) return { services: [], nextCursor: null };
    try {
      return this.directory.query(filter, limit, cursor);
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ApiError("validation_failed", "invalid cursor", [{ path: "cursor", message: "is not a cursor this server issued" }]);
      throw error;
    }
  }
}
