/**
 * @module agents/a2a/client/a2a-agents
 * External A2A agents added by URL (issue 16). `add` reads the agent card (official SDK), registers the agent as a
 * registry record of type `agent` as the caller (so the registry's owner and visibility rules apply), and keeps an
 * SDK client for it. A periodic refresh reads every A2A agent's card again: a changed card updates the record, a
 * card that cannot be read puts the agent offline (kCore's discovery then passes it over), a readable one brings
 * it back. The refresh works from the registry itself, not from a list of its own: a removed agent is simply no
 * longer there to refresh (and its client is dropped), agents added on another instance or before a restart are
 * refreshed too, and every write is conditional on the revision read, so a refresh never brings a removed record
 * back nor overwrites a change made meanwhile. In a cluster every instance refreshes (each at a jittered interval);
 * an unchanged card changes nothing, so that costs reads, not registry events.
 */
import { ClientFactory, ClientFactoryOptions, type Client } from "@a2a-js/sdk/client";
import {
  A2A_METADATA_KEY,
  A2aRecordMetadataSchema,
  ListServicesQuerySchema,
  type AddA2aAgentRequest,
  type ServiceRecord,
} from "@kai/protocol";
import type { Principal } from "../../../auth/principal.js";
import { ApiError } from "../../../errors.js";
import type { Logger } from "../../../logging/logger.js";
import type { RegistryService } from "../../../registry/registry-service.js";
import { agentMetadataOf } from "../../directory/manifest-registration.js";
import { cardUrlOf, readAgentCard, type ReadCard } from "./agent-card.js";
import { defaultAgentId, registrationFromCard } from "./card-registration.js";

export interface A2aAgentsDeps {
  registry: RegistryService;
  logger: Logger;
  /** How often every A2A agent's card is read again (ms); 0 = never (tests call `refreshAll`). Default 5 minutes. */
  refreshMs?: number;
}

const DEFAULT_REFRESH_MS = 5 * 60_000;
const PAGE = 1000;

/** The node itself, refreshing records: an admin view (every record), acting as each record's owner. */
function nodeActingFor(owner: string): Principal {
  return { tokenId: "node:a2a-refresh", owner, scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };
}

/** The card part of a record, when it is an A2A agent's. */
export function a2aMetadataOf(record: ServiceRecord) {
  const agent = agentMetadataOf(record);
  if (agent?.source !== "a2a") return undefined;
  const parsed = A2aRecordMetadataSchema.safeParse(record.metadata[A2A_METADATA_KEY]);
  return parsed.success ? parsed.data : undefined;
}

export class A2aAgents {
  private readonly registry: RegistryService;
  private readonly logger: Logger;
  private readonly factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: ["JSONRPC"] }));
  /** An SDK client per agent id, made from the card last read (a promise: concurrent steps share one card read). */
  private readonly clients = new Map<string, Promise<Client>>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(deps: A2aAgentsDeps) {
    this.registry = deps.registry;
    this.logger = deps.logger;
    const every = deps.refreshMs ?? DEFAULT_REFRESH_MS;
    if (every > 0) this.schedule(every);
  }

  /** Reads the card at `request.url` and registers (201) or updates (200) the agent it describes. */
  async add(principal: Principal, request: AddA2aAgentRequest): Promise<{ record: ServiceRecord; created: boolean }> {
    const read = await readAgentCard(cardUrlOf(request.url));
    const id = request.id ?? defaultAgentId(read.card.name);
    const existing = await this.registry.get(principal, id).catch((error: unknown) => {
      if (error instanceof ApiError && error.code === "not_found") return null;
      throw error;
    });
    if (existing && a2aMetadataOf(existing) === undefined) {
      throw new ApiError("conflict", `${id} is already registered, and not as an A2A agent; choose another id`);
    }
    const result = await this.registry.register(principal, registrationFromCard(read, { ...request, id }));
    this.remember(id, read);
    return result;
  }

  /** The SDK client for an A2A agent: the cached one, else made from its record's card. */
  clientFor(id: string): Promise<Client> {
    const cached = this.clients.get(id);
    if (cached) return cached;
    const made = (async () => {
      const record = await this.registry.get(nodeActingFor("node"), id);
      const a2a = a2aMetadataOf(record);
      if (!a2a) throw new Error(`${id} is not an A2A agent`);
      return this.factory.createFromAgentCard((await readAgentCard(a2a.cardUrl)).card);
    })();
    this.clients.set(id, made);
    // A failed read is not cached: the next step tries again.
    made.catch(() => {
      if (this.clients.get(id) === made) this.clients.delete(id);
    });
    return made;
  }

  /** Reads every A2A agent's card again (one pass at a time). */
  refreshAll(): Promise<void> {
    this.refreshing ??= this.sweep().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.refreshing?.catch(() => undefined);
    this.clients.clear();
  }

  private schedule(every: number): void {
    // Jitter, so that the instances of a cluster do not all read every card at the same moment.
    const delay = Math.round(every * (0.9 + Math.random() * 0.2));
    this.timer = setTimeout(() => {
      void this.refreshAll()
        .catch((error: unknown) => this.logger.warn({ err: error }, "refreshing the A2A agents' cards failed"))
        .finally(() => {
          if (!this.closed) this.schedule(every);
        });
    }, delay);
    this.timer.unref();
  }

  private remember(id: string, read: ReadCard): void {
    const client = this.factory.createFromAgentCard(read.card);
    client.catch(() => undefined);
    this.clients.set(id, client);
  }

  private async sweep(): Promise<void> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.registry.list(
        nodeActingFor("node"),
        ListServicesQuerySchema.parse({ type: "agent", limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) }),
      );
      for (const record of page.services) {
        if (this.closed) return;
        if (!a2aMetadataOf(record)) continue;
        seen.add(record.id);
        await this.refreshOne(record).catch((error: unknown) => this.logger.warn({ err: error, agent: record.id }, "refreshing an A2A agent failed"));
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    // Agents removed since: their clients go (removal stops the refresh by itself: the record is gone).
    for (const id of this.clients.keys()) if (!seen.has(id)) this.clients.delete(id);
  }

  private async refreshOne(record: ServiceRecord): Promise<void> {
    // An agent an operator put in maintenance is left alone until they take it out.
    if (record.status === "maintenance") return;
    const a2a = a2aMetadataOf(record)!;
    let read: ReadCard;
    try {
      read = await readAgentCard(a2a.cardUrl);
    } catch (error) {
      const why = error instanceof ApiError ? error.message : "the agent card could not be read";
      if (record.status !== "offline") this.logger.warn({ agent: record.id }, why);
      await this.registry.setStatusBySystem(record.id, "offline", why.slice(0, 500), record.revision);
      this.clients.delete(record.id);
      return;
    }
    const next = registrationFromCard(read, { url: a2a.cardUrl, id: record.id, tags: record.tags, visibility: record.visibility });
    try {
      await this.registry.patch(nodeActingFor(record.owner), record.id, {
        name: next.name,
        description: next.description,
        capabilities: next.capabilities,
        url: next.url ?? null,
        protocol: next.protocol ?? null,
        metadata: next.metadata,
        ...(record.status === "offline" ? { status: "active" as const } : {}),
        expectedRevision: record.revision,
      });
      this.remember(record.id, read);
    } catch (error) {
      // Removed or changed meanwhile: the next pass sees the record as it is now.
      if (error instanceof ApiError && (error.code === "not_found" || error.code === "conflict")) return;
      throw error;
    }
  }
}
