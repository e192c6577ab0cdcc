/**
 * @module gateway/connectors/qdrant
 * Qdrant for `vector_storage`, over its REST API (default port 6333): collections `GET/PUT/DELETE
 * /collections[/{name}]`, upsert `PUT /collections/{name}/points`, nearest-k `POST …/points/search`
 * (present in every 1.x release; `/points/query` exists only from 1.10), delete `POST …/points/delete`.
 * Writes pass `wait=true`, so a query right after an upsert sees the points. The credential travels in
 * Qdrant's `api-key` header. Qdrant reports no tokens; latency is what the caller waited.
 */
import {
  VectorCollectionCreateRequestSchema,
  VectorCollectionNameSchema,
  VectorDeleteRequestSchema,
  VectorQueryRequestSchema,
  VectorUpsertRequestSchema,
} from "@kai/protocol";
import type { Connector } from "../../connector.js";
import { UpstreamError } from "../../upstream/upstream-error.js";
import { callJson, probeHealth } from "../../upstream/upstream-http.js";
import { upstreamRequests } from "../../upstream/upstream-request.js";
import { headerAuth, parseInput, refined } from "../support.js";
import { checkPayloads, fromQdrantPoint, toQdrantConditions, toQdrantDistance, toQdrantId, toQdrantPoint } from "./translate.js";
import { QdrantBooleanSchema, QdrantCollectionsSchema, QdrantSearchSchema, QdrantUpdateSchema } from "./wire.js";

const PROVIDER = "Qdrant";
const WAIT = { wait: "true" };

const request = upstreamRequests(PROVIDER, (target) => headerAuth("api-key", target));

const collectionPath = (name: string) => `/collections/${encodeURIComponent(name)}`;

export const qdrantConnector: Connector = {
  id: "qdrant",
  displayName: PROVIDER,
  operations: new Set(["vector_collections", "vector_upsert", "vector_query", "vector_delete", "models"]),
  // The vector and workflow requests are the operations' inputs (collection, points, filter, k, workflow): no tuning parameters.
  parameters: {},
  listCollections: (context) =>
    refined(async () => {
      const { data, latencyMs } = await callJson(request("GET", "/collections", context), QdrantCollectionsSchema);
      return { data: { collections: data.result.collections.map((collection) => ({ name: collection.name })) }, latencyMs };
    }),
  createCollection: (create, context) =>
    refined(async () => {
      const { name, dimension, metric } = parseInput(VectorCollectionCreateRequestSchema, create);
      const body = { vectors: { size: dimension, distance: toQdrantDistance(metric) } };
      const { latencyMs } = await callJson(request("PUT", collectionPath(name), context, body), QdrantBooleanSchema);
      return { data: { status: "completed" }, latencyMs };
    }),
  deleteCollection: (name, context) =>
    refined(async () => {
      parseInput(VectorCollectionNameSchema, name);
      const { data, latencyMs } = await callJson(request("DELETE", collectionPath(name), context), QdrantBooleanSchema);
      // Qdrant answers 200 `{result: false}` for a collection that does not exist.
      if (!data.result) throw new UpstreamError("upstream_not_found", `${PROVIDER} has no collection "${name}"`, { upstreamStatus: 200 });
      return { data: { status: "completed" }, latencyMs };
    }),
  upsertPoints: (input, context) =>
    refined(async () => {
      const upsert = parseInput(VectorUpsertRequestSchema, input);
      checkPayloads(upsert.points);
      const body = { points: upsert.points.map(toQdrantPoint) };
      const { data, latencyMs } = await callJson(request("PUT", `${collectionPath(upsert.collection)}/points`, context, body, WAIT), QdrantUpdateSchema);
      return { data: { status: data.result.status, count: upsert.points.length }, latencyMs };
    }),
  queryPoints: (query, context) =>
    refined(async () => {
      const { collection, vector, k, filter, includeVectors } = parseInput(VectorQueryRequestSchema, query);
      const conditions = toQdrantConditions(filter);
      const body = { vector, limit: k, with_payload: true, with_vector: includeVectors, ...(conditions.length > 0 ? { filter: { must: conditions } } : {}) };
      const { data, latencyMs } = await callJson(request("POST", `${collectionPath(collection)}/points/search`, context, body), QdrantSearchSchema);
      return { data: { matches: data.result.map(fromQdrantPoint) }, latencyMs };
    }),
  deletePoints: (input, context) =>
    refined(async () => {
      const remove = parseInput(VectorDeleteRequestSchema, input);
      const ids = remove.ids?.map((id) => toQdrantId(id).id);
      const conditions = toQdrantConditions(remove.filter);
      // Ids alone use the points selector; with a filter, ids become a `has_id` condition so both must hold.
      const body = conditions.length === 0 ? { points: ids } : { filter: { must: [...conditions, ...(ids ? [{ has_id: ids }] : [])] } };
      const { data, latencyMs } = await callJson(request("POST", `${collectionPath(remove.collection)}/points/delete`, context, body, WAIT), QdrantUpdateSchema);
      return { data: { status: data.result.status }, latencyMs };
    }),
  // Qdrant serves no models; the router matches vector services by capability alone.
  listModels: async () => [],
  // `/healthz` answers without touching storage (and without needing the API key).
  health: (context) => probeHealth(request("GET", "/healthz", context)),
};
