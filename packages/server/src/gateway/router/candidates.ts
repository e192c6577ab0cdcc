/**
 * @module gateway/router/candidates
 * Which services may take a request, in the order to try them. A candidate offers the capability, is
 * visible to the caller (`canSee`), has a connector that supports the operation, carries every requested
 * tag, serves the requested model (chat, completions, embeddings), is neither `offline` nor in
 * `maintenance`, and is not known to be slower than `maxLatencyMs`. The most specific reason for an empty
 * list becomes the error: 404 `capability_not_found` / `model_not_found`, 503 `no_service_available`.
 *
 * `model: "<serviceId>/<model>"` (or `hints.serviceId`) pins the request to one service; the prefix only
 * counts when it names a service the caller can see, since model names may contain `/` themselves.
 * Breakers, cooldowns and rate limits are not checked here but per attempt, as they change during failover.
 */
import type { RoutingHints, RoutingStrategy, ServiceRecord } from "@kai/protocol";
import { ApiError, notFound } from "../../errors.js";
import { canSee, type Viewer } from "../../storage/contracts/viewer.js";
import type { Cancellable } from "../cancel-signal.js";
import type { Connector, ConnectorOperation } from "../connector.js";
import { isLocalService } from "./is-local.js";
import type { ModelCatalog } from "./model-catalog.js";
import { MODEL_OPERATIONS } from "./operations.js";
import type { RoutedService, ServiceDirectory } from "./service-directory.js";
import type { ServiceRuntime, ServiceStatsTable } from "./service-stats.js";
import { order, type Rankable } from "./strategies.js";

export interface Candidate extends Rankable {
  readonly connector: Connector;
  readonly local: boolean;
}

export interface CandidateQuery {
  readonly viewer: Viewer;
  readonly operation: ConnectorOperation;
  readonly capability: string;
  /** The model as the caller gave it (possibly `<serviceId>/<model>`). */
  readonly model?: string;
  readonly hints: RoutingHints;
  readonly defaultStrategy: RoutingStrategy;
  /** Bounds the wait for a just-registered service's first model list. */
  readonly cancel?: Cancellable;
}

export interface Selection {
  readonly candidates: Candidate[];
  /** The model to send upstream (pin prefix removed). */
  readonly model?: string;
  readonly pinned: boolean;
  /**
   * A model was asked for and no candidate is known to serve it: all are services whose model list is unknown. If
   * none of them takes the request, the answer is `model_not_found` for that model, not whatever those failed with.
   */
  readonly unconfirmedModel?: boolean;
}

export interface CandidateSources {
  readonly directory: ServiceDirectory;
  readonly catalog: ModelCatalog;
  readonly stats: ServiceStatsTable;
  readonly connectorFor: (provider: string | undefined) => Connector | undefined;
}

const UNROUTABLE = new Set<ServiceRecord["status"]>(["offline", "maintenance"]);

/** What a caller reads when no service serves the model: the model, and where to find the ones there are. */
export function modelNotFoundMessage(model: string): string {
  return `no service you may use serves the model "${model}" (GET /v1/models lists the models you can use)`;
}

/** Splits a pin prefix off the model when it names a service the caller can see. */
function pinOf(sources: CandidateSources, query: CandidateQuery): { serviceId?: string; model?: string } {
  if (query.hints.serviceId) return { serviceId: query.hints.serviceId, ...(query.model !== undefined ? { model: query.model } : {}) };
  const model = query.model;
  const slash = model?.indexOf("/") ?? -1;
  if (model && slash > 0) {
    const prefix = model.slice(0, slash);
    const record = sources.directory.get(prefix);
    if (record && canSee(query.viewer, record)) return { serviceId: prefix, model: model.slice(slash + 1) };
  }
  return model !== undefined ? { model } : {};
}

/** How long to keep waiting for the other lists once one service is known to serve the model, ms. */
const GRACE_AFTER_FIRST_MS = 250;

/**
 * Waits for the first model lists of services that might serve `model` (so that a just-registered service keeps
 * its place in the order), but only as long as it helps: until all of them answered, or the request's signal
 * fires, or — once one of them is known to serve the model — a short grace period. One stalled provider must
 * not hold a request that another service can take.
 */
function waitForModels(sources: CandidateSources, records: RoutedService[], model: string, cancel?: Cancellable): Promise<void> {
  if (records.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = records.length;
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      if (grace) clearTimeout(grace);
      detach?.();
      resolve();
    };
    if (cancel?.aborted) return resolve();
    // onAbort never calls back synchronously, so `finish` cannot run before `detach` is set.
    const detach = cancel?.onAbort(finish);
    for (const record of records) {
      void sources.catalog.ready(record.id).then(() => {
        left--;
        if (left === 0) finish();
        else if (!grace && sources.catalog.serves(record.id, model) === "yes") grace = setTimeout(finish, GRACE_AFTER_FIRST_MS);
      });
    }
  });
}

export async function selectCandidates(sources: CandidateSources, query: CandidateQuery): Promise<Selection> {
  const pin = pinOf(sources, query);
  const { hints } = query;
  let pool: RoutedService[];
  if (pin.serviceId !== undefined) {
    const record = sources.directory.get(pin.serviceId);
    if (!record || !canSee(query.viewer, record)) throw notFound("service");
    if (!record.capabilities.includes(query.capability)) {
      throw new ApiError("capability_not_found", `service ${record.id} does not offer ${query.capability}`);
    }
    pool = [record];
  } else {
    pool = sources.directory.withCapability(query.capability).filter((record) => canSee(query.viewer, record));
  }
  if (pool.length === 0) throw new ApiError("capability_not_found", `no service you may use offers ${query.capability}`);

  const withConnector: Array<{ record: RoutedService; connector: Connector }> = [];
  for (const record of pool) {
    const connector = sources.connectorFor(record.provider);
    if (connector && record.url && connector.operations.has(query.operation)) withConnector.push({ record, connector });
  }
  if (withConnector.length === 0) {
    throw new ApiError("capability_not_found", `no service offering ${query.capability} has a connector that supports ${query.operation}`);
  }

  let matching = withConnector;
  if (hints.tags?.length) matching = matching.filter(({ record }) => hints.tags!.every((tag) => record.tags.includes(tag)));
  if (hints.fallback) {
    const listed = new Map(hints.fallback.map((id, index) => [id, index]));
    matching = matching.filter(({ record }) => listed.has(record.id)).sort((a, b) => listed.get(a.record.id)! - listed.get(b.record.id)!);
  }
  if (matching.length === 0) throw new ApiError("capability_not_found", `no service offering ${query.capability} matches the routing hints`);

  /** Services whose model list is unknown: candidates, but after every service known to serve the model. */
  let unsure: ReadonlySet<string> | null = null;
  let unconfirmedModel = false;
  // A pinned request goes to its service whatever the catalog says: the provider answers model_not_found if need be.
  if (pin.model !== undefined && pin.serviceId === undefined && MODEL_OPERATIONS.has(query.operation)) {
    const model = pin.model;
    // Only services that might serve it are worth waiting for (a just-registered one's first list is in flight),
    // and only while no service is known to serve it.
    if (!matching.some(({ record }) => sources.catalog.serves(record.id, model) === "yes")) {
      await waitForModels(sources, matching.filter(({ record }) => sources.catalog.serves(record.id, model) === "unknown").map(({ record }) => record), model, query.cancel);
    }
    const known = matching.filter(({ record }) => sources.catalog.serves(record.id, model) === "yes");
    const unknown = matching.filter(({ record }) => sources.catalog.serves(record.id, model) === "unknown");
    if (known.length + unknown.length === 0) throw new ApiError("model_not_found", modelNotFoundMessage(model));
    unconfirmedModel = known.length === 0;
    // Usually every service's list is known: no set, no copy.
    if (unknown.length > 0) {
      unsure = new Set(unknown.map(({ record }) => record.id));
      matching = [...known, ...unknown];
    } else matching = known;
  }

  const routable = matching.filter(({ record }) => !UNROUTABLE.has(record.status));
  if (routable.length === 0) throw new ApiError("no_service_available", `every service that could take this request is offline or in maintenance`);

  const candidates: Candidate[] = [];
  for (const { record, connector } of routable) {
    const runtime: ServiceRuntime = sources.stats.get(record.id);
    if (hints.maxLatencyMs !== undefined && runtime.ewmaLatencyMs !== undefined && runtime.ewmaLatencyMs > hints.maxLatencyMs) continue;
    candidates.push({ record, runtime, connector, local: isLocalService(record) });
  }
  if (candidates.length === 0) throw new ApiError("no_service_available", `no service that could take this request answers within ${hints.maxLatencyMs} ms`);

  const ordered = hints.fallback || candidates.length === 1 ? candidates : order(candidates, hints.strategy ?? query.defaultStrategy);
  // Services of unknown models last; degraded ones after healthy ones; with preferLocal, local before remote (all stable).
  // An explicit fallback list is the caller's order and stays as given.
  const rank = (candidate: Candidate) =>
    (unsure?.has(candidate.record.id) ? 4 : 0) + (hints.preferLocal && !candidate.local ? 2 : 0) + (candidate.record.status === "degraded" ? 1 : 0);
  // One candidate needs no ranking (the common case: the map/sort/map below allocates per request).
  const final = hints.fallback || ordered.length <= 1 ? ordered : ordered.map((candidate, index) => ({ candidate, index })).sort((a, b) => rank(a.candidate) - rank(b.candidate) || a.index - b.index).map(({ candidate }) => candidate);
  const selection: { -readonly [K in keyof Selection]: Selection[K] } = { candidates: final, pinned: pin.serviceId !== undefined };
  if (pin.model !== undefined) selection.model = pin.model;
  if (unconfirmedModel) selection.unconfirmedModel = true;
  return selection;
}
