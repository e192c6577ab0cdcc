/**
 * @module gateway/connectors/chroma
 * Chroma for `vector_storage`, over its **v2** REST API (`/api/v2/tenants/{tenant}/databases/{database}/…`).
 * kai-cd's definition used `/api/v1/…`, but Chroma 1.0 removed v1 (it answers 410 Gone there) and v2 is the
 * only API current servers speak (late 0.5.x and 0.6.x have it too). Data calls address a collection by id, so
 * each one first reads the collection by name (`GET …/collections/{name}`), which also yields its metric
 * for score conversion; the id is not cached, because a collection deleted and re-created under the same
 * name gets a new id and a stale cache would write to nothing. Health is `GET /api/v2/heartbeat`. The
 * credential goes in `x-chroma-token` (Chroma's token-auth header).
 */
import {
  VectorCollectionCreateRequestSchema,
  VectorCollectionNameSchema,
  VectorDeleteRequestSchema,
  VectorQueryRequestSchema,
  VectorUpsertRequestSchema,
} from "@kai/protocol";
import type { CallContext, Connector } from "../../connector.js";
import { callJson, probeHealth } from "../../upstream/upstream-http.js";
import { upstreamRequests } from "../../upstream/upstream-request.js";
import { headerAuth, parseInput, refined } from "../support.js";
import { fromChromaQuery, metricOf, toChromaSpace, toChromaUpsert, toWhere } from "./translate.js";
import { ChromaAckSchema, ChromaCollectionListSchema, ChromaCollectionSchema, ChromaQuerySchema } from "./wire.js";

export interface ChromaOptions {
  readonly id: string;
  readonly displayName: string;
  /** Chroma tenant and database; a single-node server has `default_tenant` / `default_database`. */
  readonly tenant: string;
  readonly database: string;
}

/** Builds a Chroma connector for one tenant/database. */
export function createChromaConnector(options: ChromaOptions): Connector {
  const provider = options.displayName;
  const base = `/api/v2/tenants/${encodeURIComponent(options.tenant)}/databases/${encodeURIComponent(options.database)}/collections`;
  const request = upstreamRequests(provider, (target) => headerAuth("x-chroma-token", target));
  const collection = async (name: string, context: CallContext) =>
    (await callJson(request("GET", `${base}/${encodeURIComponent(name)}`, context), ChromaCollectionSchema)).data;

  return {
    id: options.id,
    displayName: provider,
    operations: new Set(["vector_collections", "vector_upsert", "vector_query", "vector_delete", "models"]),
    // The vector and workflow requests are the operations' inputs (collection, points, filter, k, workflow): no tuning parameters.
    parameters: {},
    listCollections: (context) =>
      refined(async () => {
        const { data, latencyMs } = await callJson(request("GET", base, context), ChromaCollectionListSchema);
        return { data: { collections: data.map((item) => ({ name: item.name, dimension: item.dimension ?? null, metric: metricOf(item) })) }, latencyMs };
      }),
    createCollection: (create, context) =>
      refined(async () => {
        // Chroma fixes the dimension on the first upsert, so only the metric is sent.
        const { name, metric } = parseInput(VectorCollectionCreateRequestSchema, create);
        const { latencyMs } = await callJson(request("POST", base, context, { name, configuration: { hnsw: { space: toChromaSpace(metric) } }, get_or_create: false }), ChromaCollectionSchema);
        return { data: { status: "completed" }, latencyMs };
      }),
    deleteCollection: (name, context) =>
      refined(async () => {
        parseInput(VectorCollectionNameSchema, name);
        const { latencyMs } = await callJson(request("DELETE", `${base}/${encodeURIComponent(name)}`, context), ChromaAckSchema);
        return { data: { status: "completed" }, latencyMs };
      }),
    upsertPoints: (input, context) =>
      refined(async () => {
        const started = performance.now();
        const upsert = parseInput(VectorUpsertRequestSchema, input);
        const target = await collection(upsert.collection, context);
        await callJson(request("POST", `${base}/${encodeURIComponent(target.id)}/upsert`, context, toChromaUpsert(upsert.points)), ChromaAckSchema);
        return { data: { status: "completed", count: upsert.points.length }, latencyMs: performance.now() - started };
      }),
    queryPoints: (input, context) =>
      refined(async () => {
        const started = performance.now();
        const query = parseInput(VectorQueryRequestSchema, input);
        const target = await collection(query.collection, context);
        const where = toWhere(query.filter);
        const body = {
          query_embeddings: [query.vector],
          n_results: query.k,
          include: ["metadatas", "documents", "distances", ...(query.includeVectors ? ["embeddings"] : [])],
          ...(where ? { where } : {}),
        };
        const { data } = await callJson(request("POST", `${base}/${encodeURIComponent(target.id)}/query`, context, body), ChromaQuerySchema);
        return { data: { matches: fromChromaQuery(data, metricOf(target)) }, latencyMs: performance.now() - started };
      }),
    deletePoints: (input, context) =>
      refined(async () => {
        const started = performance.now();
        const remove = parseInput(VectorDeleteRequestSchema, input);
        const target = await collection(remove.collection, context);
        const where = toWhere(remove.filter);
        const body = { ...(remove.ids ? { ids: remove.ids.map(String) } : {}), ...(where ? { where } : {}) };
        await callJson(request("POST", `${base}/${encodeURIComponent(target.id)}/delete`, context, body), ChromaAckSchema);
        return { data: { status: "completed" }, latencyMs: performance.now() - started };
      }),
    // Chroma serves no models (embedding functions run client-side); the router matches by capability alone.
    listModels: async () => [],
    health: (context) => probeHealth(request("GET", "/api/v2/heartbeat", context)),
  };
}

/** A single-node Chroma server (default port 8000) with its default tenant and database. */
export const chromaConnector = createChromaConnector({ id: "chroma", displayName: "Chroma", tenant: "default_tenant", database: "default_database" });
