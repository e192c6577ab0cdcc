/**
 * @module klp/memory-handlers
 * `memory_read` and `memory_write` over KLP (docs/protocol/klp.md "Memory"): a sender with a memory grant
 * (memory-grants.ts) stores and finds memories through the same memory service as `/api/memory`, as the grant's owner.
 * The grant is checked before anything is embedded or stored, so a refused write stores nothing. A write's `key`
 * is kept as the memory's `key` metadata, which is how a read by key finds it; a read by id answers only for a
 * namespace the sender may read (else KLP_NOT_FOUND, as for a memory that is not there).
 */
import { klp, type AddMemoryRequestSchema, type Memory, type SearchMemoryParams, type SearchMemoryResponse } from "@kai/protocol";
import type { z } from "zod";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import { principalOf, type KlpMemoryGrants, type MemoryAuthorization } from "./memory-grants.js";
import { klpErrorFromApi } from "./registry-handlers.js";

/** What the handlers use of the memory service (memory/memory-service.ts): a port, so that klp/ does not import memory/. */
export interface KlpMemoryPort {
  add(request: z.output<typeof AddMemoryRequestSchema>, principal: Principal): Promise<{ memory: Memory; created: boolean }>;
  get(id: string, principal: Principal): Promise<Memory>;
  search(query: SearchMemoryParams, filter: Readonly<Record<string, string>>, principal: Principal): Promise<SearchMemoryResponse>;
}

type Reply = Omit<klp.CreateEnvelopeInput<klp.KlpMessageType>, "to" | "metadata">;

const DEFAULT_NAMESPACE = "default";
const DEFAULT_LIMIT = 10;

/** Memory errors a sender can act on keep their meaning; the rest say which service failed, without internals. */
function klpErrorOf(error: unknown): klp.KlpError {
  if (error instanceof ApiError) {
    if (error.code === "capability_not_found") return new klp.KlpError("KLP_NOT_FOUND", "no embedding service is available to this memory's owner");
    if (error.code === "memory_index_unavailable") return new klp.KlpError("KLP_INTERNAL", "the memory index is loading or down; try again shortly", { code: error.code });
    if (error.code.startsWith("upstream_")) return new klp.KlpError("KLP_INTERNAL", "the embedding service failed", { code: error.code });
  }
  return klpErrorFromApi(error);
}

export class KlpMemoryHandlers {
  static readonly TYPES: ReadonlySet<klp.KlpMessageType> = new Set<klp.KlpMessageType>(["memory_read", "memory_write"]);

  constructor(
    private readonly memory: KlpMemoryPort,
    private readonly grants: KlpMemoryGrants,
  ) {}

  /** The reply to an accepted `memory_read` or `memory_write` (addressed and signed by the node), or a KlpError. */
  async handle(envelope: klp.KlpEnvelope): Promise<Reply> {
    try {
      if (envelope.type === "memory_write") return await this.write(envelope);
      if (envelope.type === "memory_read") return await this.read(envelope);
    } catch (error) {
      throw klpErrorOf(error);
    }
    throw new klp.KlpError("KLP_NOT_FOUND", `this node does not handle ${envelope.type} messages as memory`);
  }

  private async write(envelope: klp.KlpEnvelope): Promise<Reply> {
    const payload = klp.MemoryWritePayloadSchema.parse(envelope.payload);
    const value = klp.MemoryTextValueSchema.safeParse(payload.value);
    if (!value.success) throw new klp.KlpError("KLP_MALFORMED", "a memory's value is its text: a non-blank string, or {text}");
    const namespace = payload.namespace ?? DEFAULT_NAMESPACE;
    const { principal } = await this.grants.authorize(envelope.from, namespace, "write");
    const { memory, created } = await this.memory.add(
      {
        text: typeof value.data === "string" ? value.data : value.data.text,
        namespace,
        metadata: { ...(payload.metadata ?? {}), [klp.KLP_MEMORY_KEY_FIELD]: payload.key },
        relations: payload.relations ?? [],
        ...(payload.ttlSeconds !== undefined ? { ttlSeconds: payload.ttlSeconds } : {}),
      },
      principal,
    );
    const answer: klp.MemoryWriteAnswer = { status: created ? "created" : "existing", key: payload.key, memory };
    return { type: "status_update", payload: answer };
  }

  private async read(envelope: klp.KlpEnvelope): Promise<Reply> {
    const payload = klp.MemoryReadPayloadSchema.parse(envelope.payload);
    const { principal, owner } = payload.id !== undefined ? await this.byId(envelope.from, payload.id) : await this.grants.authorize(envelope.from, payload.namespace ?? DEFAULT_NAMESPACE, "read");
    let answer: klp.MemoryReadAnswer;
    if (payload.id !== undefined) {
      answer = { results: [{ memory: await this.memory.get(payload.id, principal) }] };
    } else {
      // A read by key is a search for the key among the memories written under it: the filter is decided inside the
      // search, so every such memory (up to `limit`) comes back, nearest to the key's own text first.
      const filter = { ...(payload.filter ?? {}), ...(payload.key !== undefined ? { [klp.KLP_MEMORY_KEY_FIELD]: payload.key } : {}) };
      const found = await this.memory.search(
        {
          q: payload.query ?? payload.key!,
          namespace: payload.namespace ?? DEFAULT_NAMESPACE,
          limit: payload.limit ?? DEFAULT_LIMIT,
          owner,
          ...(payload.threshold !== undefined ? { threshold: payload.threshold } : {}),
          ...(payload.expand !== undefined ? { expand: payload.expand } : {}),
        },
        filter,
        principal,
      );
      answer = { results: found.results, model: found.model };
    }
    return { type: "memory_read", payload: { ...payload, ...answer } };
  }

  /**
   * A read by id: the memory's namespace is known only once it is read, so it is read as each owner a grant lets the
   * sender use, and answered only when that owner's grant covers its namespace; otherwise it is not there (KLP_NOT_FOUND).
   */
  private async byId(did: string, id: string): Promise<MemoryAuthorization> {
    const owners = await this.grants.owners(did);
    if (owners.length === 0) throw new klp.KlpError("KLP_UNAUTHORIZED", "this sender has no memory grant on this node (klp.memoryGrants)");
    for (const owner of owners) {
      const memory = await this.memory.get(id, principalOf(did, owner, "read")).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === "not_found") return undefined;
        throw error;
      });
      if (!memory) continue;
      const granted = await this.grants.authorize(did, memory.namespace, "read", owner).catch(() => undefined);
      if (granted) return granted;
    }
    throw new klp.KlpError("KLP_NOT_FOUND", "memory not found");
  }
}
