/**
 * @module klp/memory-grants
 * Decides what a KLP sender may do with semantic memory, from the operator's `klp.memoryGrants` only: a grant names
 * the sender (by DID, or as a registered agent whose record is owned by the grant's owner and bound to the sender's
 * DID), the owner whose memory it acts on, and the namespaces it may read and write. The first grant (in
 * configuration order) that covers the namespace and access decides the owner. Nothing is implied: a trusted peer
 * or a registered agent without a grant gets KLP_UNAUTHORIZED, as does a namespace outside its patterns.
 */
import { AGENT_METADATA_KEY, AgentRecordMetadataSchema, klp, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import type { RegistryService } from "../registry/registry-service.js";
import { ApiError } from "../errors.js";

export type MemoryAccess = "read" | "write";

/** The grant covering one request, and the principal the memory service is called as. */
export interface MemoryAuthorization {
  owner: string;
  principal: Principal;
}

export class KlpMemoryGrants {
  constructor(
    private readonly grants: readonly klp.KlpMemoryGrant[],
    private readonly registry: Pick<RegistryService, "get">,
  ) {}

  /**
   * The owner and principal for `did` using `namespace` for `access` (only `owner`'s grants when given);
   * KLP_UNAUTHORIZED when no grant covers it.
   */
  async authorize(did: string, namespace: string, access: MemoryAccess, owner?: string): Promise<MemoryAuthorization> {
    let known = false;
    for (const grant of this.grants) {
      if ((owner !== undefined && grant.owner !== owner) || !(await this.names(grant, did))) continue;
      known = true;
      const patterns = access === "read" ? [...grant.read, ...grant.write] : grant.write;
      if (patterns.some((pattern) => klp.namespaceMatches(pattern, namespace))) return { owner: grant.owner, principal: principalOf(did, grant.owner, access) };
    }
    throw new klp.KlpError(
      "KLP_UNAUTHORIZED",
      known ? `this sender may not ${access} memory namespace ${namespace}` : "this sender has no memory grant on this node (klp.memoryGrants)",
    );
  }

  /** The owners whose memory some grant lets `did` use, in configuration order (for a read by id). */
  async owners(did: string): Promise<string[]> {
    const owners: string[] = [];
    for (const grant of this.grants) if (!owners.includes(grant.owner) && (await this.names(grant, did))) owners.push(grant.owner);
    return owners;
  }

  /** Does `grant` name the sender `did`? An agent grant reads the agent's record as the grant's owner. */
  private async names(grant: klp.KlpMemoryGrant, did: string): Promise<boolean> {
    if (grant.did !== undefined) return grant.did === did;
    const record = await this.registry.get(principalOf(did, grant.owner, "read"), grant.agent!).catch((error: unknown) => {
      if (error instanceof ApiError && (error.code === "not_found" || error.code === "forbidden")) return undefined;
      throw error;
    });
    return record !== undefined && boundTo(record, grant.owner) === did;
  }
}

/** The DID an agent record owned by `owner` is bound to (undefined for anything else). */
function boundTo(record: ServiceRecord, owner: string): string | undefined {
  if (record.type !== "agent" || record.owner !== owner) return undefined;
  const agent = AgentRecordMetadataSchema.safeParse(record.metadata[AGENT_METADATA_KEY]);
  return agent.success ? agent.data.did : undefined;
}

/**
 * The principal a granted sender acts as: the grant's owner, with only the memory scopes the access needs. Memory
 * embeds through the gateway as this principal, so only embedding services that owner may use are candidates.
 */
export function principalOf(did: string, owner: string, access: MemoryAccess): Principal {
  return {
    tokenId: `klp:${did}`,
    owner,
    scopes: access === "write" ? ["memory:read", "memory:write"] : ["memory:read"],
    expiresAt: Number.MAX_SAFE_INTEGER,
  };
}
