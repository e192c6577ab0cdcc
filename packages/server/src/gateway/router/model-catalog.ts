/**
 * @module gateway/router/model-catalog
 * Which models each service serves: those its record declares (`metadata.models`, as names or
 * `{id}` objects) together with those its provider lists (`listModels`: `/v1/models`, `/api/tags`, …).
 * The provider's list is fetched when a service is registered or its address, provider or credential
 * changes, when it comes back from offline, and every `refreshMs`. A failed fetch is logged and keeps the
 * previous list: a provider that is briefly down must not make its models vanish. A service that declares
 * no models and whose list could never be fetched is "unknown": it stays a candidate (after those known to
 * serve the model), since a provider that was down at registration must not be unroutable until the next
 * refresh; if it lacks the model after all, it answers model_not_found and the router fails over.
 */
import type { Connector, ConnectorLogger, ProviderModel } from "../connector.js";
import type { CredentialResolver } from "./credentials.js";
import type { DirectoryChange, RoutedService, ServiceDirectory } from "./service-directory.js";

/** One model one service serves. */
export interface CatalogEntry {
  readonly serviceId: string;
  readonly model: string;
  readonly ownedBy?: string;
}

/**
 * What the catalog knows of one service's provider list. The models a service declares are its directory entry's
 * (`RoutedService.models`). Made when the service's list is first fetched, not when it registers: a bulk load of
 * 100,000 services made 100,000 of these (and grew a map to hold them) on the registry's write path (issue 19).
 */
interface ServiceModels {
  /** Shared between services whose list came from one fetch (see `fetch`); never mutated. */
  listed: ReadonlyMap<string, string | undefined>;
  /**
   * The fetch running for this service, if any; candidate selection waits for it (bounded by the deadline). A fetch
   * still waiting for a slot has no promise yet (see `waiting`): `ready` starts it at once.
   */
  pending: Promise<void> | null;
  generation: number;
  /** A provider list was fetched at least once. */
  listedOk: boolean;
  lastFetchAt: number;
}

/** Whether a service serves a model: known yes, known no, or no way to tell yet. */
export type Serves = "yes" | "no" | "unknown";

/** An unknown service's list is fetched again on demand, but not more often than this. */
const UNKNOWN_RETRY_MS = 10_000;

export interface ModelCatalogOptions {
  readonly directory: ServiceDirectory;
  readonly connectorFor: (provider: string | undefined) => Connector | undefined;
  readonly credentials: CredentialResolver;
  /** 0 = no periodic refresh. */
  readonly refreshMs: number;
  /** Longest wait for one provider's model list, ms. */
  readonly fetchTimeoutMs?: number;
  /** Most bytes of a model list held in memory (the gateway's `maxResponseBytes`); the connector default when absent. */
  readonly maxResponseBytes?: number;
  readonly logger?: ConnectorLogger;
}

/**
 * Memory (issue 19): a Map costs ~150 bytes even empty, so at 100,000 services a map each was ~15 MB. Services whose
 * provider lists no models share this empty one.
 */
const NO_LISTED: ReadonlyMap<string, string | undefined> = new Map();

const fetchRelevant = (a: RoutedService, b: RoutedService) =>
  a.url !== b.url || a.provider !== b.provider || JSON.stringify(a.auth) !== JSON.stringify(b.auth) || (a.status === "offline" && b.status !== "offline");

/** Only these capabilities route by model; other services' lists are never fetched. */
const MODEL_CAPABILITIES = new Set(["llm_chat", "llm_completion", "embeddings"]);
/**
 * Model-list fetches in flight at once. Registrations must not each start an outbound call: a bulk import of
 * 100,000 services (the registry benchmark) would otherwise open 100,000 connections to providers at once.
 */
const MAX_CONCURRENT_FETCHES = 8;
/**
 * One provider endpoint answers for every record that points at it with the same credential (several records
 * of one vLLM server, say): its list, or its failure, is shared for this long instead of fetched per record.
 */
const SHARE_FETCH_MS = 10_000;

export class ModelCatalog {
  private readonly services = new Map<string, ServiceModels>();
  /**
   * Services whose fetch waits for a slot, in arrival order (a Set keeps insertion order and dedupes). Only ids: a
   * bulk registration of 100,000 model-serving services queues 100,000 fetches (issue 19), and a promise and two
   * closures each were ~1 KB of garbage per service, most of it old enough to be copied by the collector before it
   * died. Hand-written rather than p-queue: a request that needs a waiting service's list promotes it to run at
   * once (`ready`).
   */
  private readonly waiting = new Set<string>();
  private running = 0;
  /** `listed`: the answer as a map, built once for every record that shares this fetch. */
  private readonly shared = new Map<string, { at: number; result: Promise<ProviderModel[]>; listed?: ReadonlyMap<string, string | undefined> }>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: ModelCatalogOptions) {}

  /** Follows the directory (call after the directory started) and fetches every known service's list. */
  start(): void {
    this.unsubscribe = this.options.directory.subscribe((change) => this.onChange(change));
    for (const record of this.options.directory.all()) this.track(record, true);
    if (this.options.refreshMs > 0) {
      this.timer = setInterval(() => this.refreshAll(), this.options.refreshMs);
      this.timer.unref();
    }
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Whether `serviceId` serves `model` as far as we know; asking about an unknown service re-fetches its list now and then. */
  serves(serviceId: string, model: string): Serves {
    const record = this.options.directory.get(serviceId);
    if (!record) return "unknown";
    const entry = this.services.get(serviceId);
    if (record.models.has(model) || entry?.listed.has(model)) return "yes";
    if (record.models.size > 0 || entry?.listedOk) return "no";
    if (!entry?.pending && !this.waiting.has(serviceId) && Date.now() - (entry?.lastFetchAt ?? 0) >= UNKNOWN_RETRY_MS) void this.refresh(serviceId);
    return "unknown";
  }

  /** Resolves once the service's first model fetch finished (at once when there is none in flight). */
  ready(serviceId: string): Promise<void> {
    // A request is waiting for this list: do not leave it behind a queue of bulk registrations.
    if (this.waiting.has(serviceId)) this.startFetch(serviceId);
    return this.services.get(serviceId)?.pending ?? Promise.resolve();
  }

  /** Every model of the given services, each once per service. */
  entries(serviceIds: Iterable<string>): CatalogEntry[] {
    const out: CatalogEntry[] = [];
    for (const serviceId of serviceIds) {
      const declared = this.options.directory.get(serviceId)?.models;
      if (!declared) continue;
      const listed = this.services.get(serviceId)?.listed ?? NO_LISTED;
      for (const model of declared) out.push({ serviceId, model, ...(listed.get(model) ? { ownedBy: listed.get(model)! } : {}) });
      for (const [model, ownedBy] of listed) {
        if (!declared.has(model)) out.push({ serviceId, model, ...(ownedBy ? { ownedBy } : {}) });
      }
    }
    return out;
  }

  /** Fetches one service's list again now (e.g. after it answered model_not_found for a model we thought it had). */
  refresh(serviceId: string): Promise<void> {
    const record = this.options.directory.get(serviceId);
    if (!record) return Promise.resolve();
    return this.fetch(record, this.entryFor(serviceId), true);
  }

  private refreshAll(): void {
    for (const record of this.options.directory.all()) {
      if (record.status !== "offline" && !this.services.get(record.id)?.pending) this.schedule(record.id);
    }
  }

  /** The service's fetch state, made on its first fetch. */
  private entryFor(serviceId: string): ServiceModels {
    let entry = this.services.get(serviceId);
    if (!entry) {
      entry = { listed: NO_LISTED, pending: null, generation: 0, listedOk: false, lastFetchAt: 0 };
      this.services.set(serviceId, entry);
    }
    return entry;
  }

  /** Queues a fetch of the service's list behind at most MAX_CONCURRENT_FETCHES running ones. */
  private schedule(serviceId: string): void {
    if (this.waiting.has(serviceId)) return;
    this.waiting.add(serviceId);
    this.pump();
  }

  /** Runs a waiting service's fetch now (taking a slot, or one more when `ready` promotes it); sets `pending`. */
  private startFetch(serviceId: string): void {
    this.waiting.delete(serviceId);
    const record = this.options.directory.get(serviceId);
    if (!record) return;
    const entry = this.entryFor(serviceId);
    this.running++;
    const done: Promise<void> = this.fetch(record, entry).finally(() => {
      this.running--;
      if (entry.pending === done) entry.pending = null;
      this.pump();
    });
    entry.pending = done;
  }

  private prune(now: number): void {
    for (const [key, share] of this.shared) if (now - share.at > SHARE_FETCH_MS) this.shared.delete(key);
  }

  private pump(): void {
    while (this.running < MAX_CONCURRENT_FETCHES && this.waiting.size > 0) {
      this.startFetch(this.waiting.values().next().value as string);
    }
  }

  private onChange({ previous, current, serviceId }: DirectoryChange): void {
    if (!current) {
      this.services.delete(serviceId);
      this.waiting.delete(serviceId);
      return;
    }
    this.track(current, !previous || fetchRelevant(previous, current));
  }

  private track(record: RoutedService, fetchNow: boolean): void {
    if (fetchNow && record.capabilities.some((capability) => MODEL_CAPABILITIES.has(capability))) this.schedule(record.id);
  }

  /** `fresh`: do not reuse another record's recent answer (after a model_not_found, say). */
  private async fetch(record: RoutedService, entry: ServiceModels, fresh = false): Promise<void> {
    let calledUpstream = false;
    const connector = this.options.connectorFor(record.provider);
    if (!connector || !record.url) return;
    const generation = ++entry.generation;
    entry.lastFetchAt = Date.now();
    try {
      const key = `${record.provider ?? ""}\u0000${record.url}\u0000${record.auth.credentialRef ?? ""}\u0000${record.auth.header ?? ""}`;
      const now = Date.now();
      let share = this.shared.get(key);
      if (!share || fresh || now - share.at > SHARE_FETCH_MS) {
        calledUpstream = true;
        const url = record.url;
        const result = (async () => {
          const auth = await this.options.credentials.resolve(record);
          return connector.listModels({
            target: { baseUrl: url, ...(auth.credential !== undefined ? { credential: auth.credential } : {}), ...(auth.headers ? { headers: auth.headers } : {}) },
            timeoutMs: this.options.fetchTimeoutMs ?? 10_000,
            ...(this.options.maxResponseBytes !== undefined ? { maxResponseBytes: this.options.maxResponseBytes } : {}),
          });
        })();
        result.catch(() => undefined);
        share = { at: now, result };
        this.shared.set(key, share);
        if (this.shared.size > 10_000) this.prune(now);
      }
      const models = await share.result;
      // A slower, older fetch must not overwrite a newer answer.
      if (generation !== entry.generation || this.services.get(record.id) !== entry) return;
      share.listed ??= models.length === 0 ? NO_LISTED : new Map(models.map((model) => [model.id, model.ownedBy]));
      entry.listed = share.listed;
      entry.listedOk = true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (calledUpstream) this.options.logger?.warn({ serviceId: record.id, provider: record.provider, code: typeof code === "string" ? code : "error" }, "could not fetch the service's model list; keeping the previous one");
    }
  }
}
