/**
 * @module agents/directory/agent-directory
 * The agent directory (issue 16): agents are registry records of type `agent`, so everything the registry already
 * does (owners, visibility, leases and heartbeats, the change feed, federation, discovery by capability) applies to
 * them unchanged. What this adds is the agent's identity: a registration is a manifest signed by the agent's own
 * key, fresh, and an agent id stays bound to the DID that first registered it until the record is removed.
 */
import { ListServicesQuerySchema, type AgentStatusResponse, type ListAgentsQuery, type ListAgentsResponse, type ServiceRecord, type SignedAgentManifest } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import { ApiError, notFound } from "../../errors.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { AgentLoad, AgentStatusSource } from "../ports.js";
import { agentStatusOf, ZERO_LOAD } from "./agent-status.js";
import { checkManifestAge, checkManifestSignature } from "./manifest-check.js";
import { agentMetadataOf, registrationFromManifest } from "./manifest-registration.js";

export interface AgentDirectoryDeps {
  registry: RegistryService;
  /** kCore's view of the steps running on each agent (agents/ports.ts); zero until kCore provides one. */
  load?: AgentLoad;
  now?: () => number;
}

/** The page size the status view reads the registry with (the registry's largest). */
const STATUS_PAGE = 1000;

export class AgentDirectory implements AgentStatusSource {
  private readonly registry: RegistryService;
  private readonly load: AgentLoad;
  private readonly now: () => number;
  /** Registrations of one id, one at a time in this process: the DID binding is checked and written without a race here. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(deps: AgentDirectoryDeps) {
    this.registry = deps.registry;
    this.load = deps.load ?? ZERO_LOAD;
    this.now = deps.now ?? Date.now;
  }

  /**
   * Registers (or re-registers) the agent `manifest` describes. `received` is the request body as parsed from JSON,
   * before the schema's defaults: the signature covers exactly what the agent sent.
   */
  async register(principal: Principal, received: unknown, manifest: SignedAgentManifest): Promise<{ record: ServiceRecord; created: boolean }> {
    checkManifestSignature(received);
    return this.serialized(manifest.id, async () => {
      const existing = await this.existing(principal, manifest.id);
      const bound = existing ? agentMetadataOf(existing) : undefined;
      if (existing && existing.type !== "agent") {
        throw new ApiError("conflict", `${manifest.id} is registered as a ${existing.type}, not an agent`);
      }
      if (bound?.did !== undefined && bound.did !== manifest.did) {
        throw new ApiError("agent_identity_mismatch", `agent ${manifest.id} is bound to another key (${bound.did}); an admin may remove it so that it can be registered anew`);
      }
      checkManifestAge(manifest.issuedAt, this.now(), bound?.issuedAt);
      return this.registry.register(principal, registrationFromManifest(manifest));
    });
  }

  async list(principal: Principal, query: ListAgentsQuery): Promise<ListAgentsResponse> {
    const page = await this.registry.list(
      principal,
      ListServicesQuerySchema.parse({
        type: "agent",
        limit: query.limit,
        ...(query.capability !== undefined ? { capability: query.capability } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      }),
    );
    return { agents: page.services, nextCursor: page.nextCursor };
  }

  /** One agent the caller may see; 404 for anything else (a record of another type included). */
  async get(principal: Principal, id: string): Promise<ServiceRecord> {
    const record = await this.registry.get(principal, id).catch((error: unknown) => {
      throw error instanceof ApiError && error.code === "not_found" ? notFound("agent") : error;
    });
    if (record.type !== "agent") throw notFound("agent");
    return record;
  }

  /** Removes the agent's record (its owner or an admin), which also ends the id's binding to its DID. */
  async remove(principal: Principal, id: string): Promise<void> {
    await this.get(principal, id);
    await this.registry.remove(principal, id);
  }

  async status(principal: Principal): Promise<AgentStatusResponse> {
    const agents: AgentStatusResponse["agents"] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(principal, { limit: STATUS_PAGE, ...(cursor !== undefined ? { cursor } : {}) });
      for (const record of page.agents) {
        const status = agentStatusOf(record, this.load);
        if (status) agents.push(status);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return { agents };
  }

  /**
   * The record with this id as the caller sees it. One the caller cannot see belongs to another owner, and the
   * registry refuses to let anyone but its owner (or an admin, who sees every record) register over it anyway.
   */
  private async existing(principal: Principal, id: string): Promise<ServiceRecord | null> {
    try {
      return await this.registry.get(principal, id);
    } catch (error) {
      if (error instanceof ApiError && error.code === "not_found") return null;
      throw error;
    }
  }

  private serialized<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.pending.get(id) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    this.pending.set(id, settled);
    void settled.then(() => {
      if (this.pending.get(id) === settled) this.pending.delete(id);
    });
    return run;
  }
}
