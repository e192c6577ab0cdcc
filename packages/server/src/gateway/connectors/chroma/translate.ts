/**
 * @module gateway/connectors/chroma/translate
 * Pure translation between the neutral vector API and Chroma's bodies: metric names (`cosine`/`l2`/`ip`),
 * the equality filter → a `where` clause, points → column arrays, and Chroma's distances → the neutral
 * score (similarity for cosine and dot, distance for euclid, as Qdrant reports them).
 */
import type { VectorFilter, VectorMatch, VectorMetric, VectorPoint } from "@kai/protocol";
import type { z } from "zod";
import { UpstreamError } from "../../upstream/upstream-error.js";
import type { ChromaCollection, ChromaQuerySchema } from "./wire.js";

const TO_SPACE: Record<VectorMetric, string> = { cosine: "cosine", euclid: "l2", dot: "ip" };
const FROM_SPACE: Record<string, VectorMetric> = { cosine: "cosine", l2: "euclid", ip: "dot" };

export function toChromaSpace(metric: VectorMetric): string {
  return TO_SPACE[metric];
}

/** The collection's metric; Chroma's default is l2 when none was configured. */
export function metricOf(collection: ChromaCollection): VectorMetric {
  const configured = collection.configuration_json?.hnsw?.space ?? collection.configuration_json?.spann?.space;
  const legacy = collection.metadata?.["hnsw:space"];
  const space = configured ?? (typeof legacy === "string" ? legacy : "l2");
  return FROM_SPACE[space] ?? "euclid";
}

/**
 * Chroma distance → neutral score. Chroma's `cosine` is 1 − cosine similarity and `ip` is 1 − dot product,
 * so both become similarities again; `l2` is the *squared* Euclidean distance, so its root is the distance.
 */
export function scoreOf(distance: number, metric: VectorMetric): number {
  if (metric === "euclid") return Math.sqrt(Math.max(0, distance));
  return 1 - distance;
}

/** Neutral filter → `where`: one condition as is, several under `$and` (Chroma rejects a multi-key object). */
export function toWhere(filter: VectorFilter | undefined): Record<string, unknown> | undefined {
  const conditions = Object.entries(filter ?? {}).map(([key, value]) => ({ [key]: typeof value === "object" ? { $in: value.in } : { $eq: value } }));
  if (conditions.length === 0) return undefined;
  return conditions.length === 1 ? conditions[0] : { $and: conditions };
}

/** Points → Chroma's column-wise upsert body. Chroma ids are strings; empty metadata is sent as null (Chroma rejects `{}`). */
export function toChromaUpsert(points: readonly VectorPoint[]): Record<string, unknown> {
  const body: Record<string, unknown> = { ids: points.map((point) => String(point.id)), embeddings: points.map((point) => point.vector) };
  if (points.some((point) => point.payload && Object.keys(point.payload).length > 0)) {
    body.metadatas = points.map((point) => (point.payload && Object.keys(point.payload).length > 0 ? point.payload : null));
  }
  if (points.some((point) => point.document !== undefined)) body.documents = points.map((point) => point.document ?? null);
  return body;
}

/** The first (only) query's columns → neutral matches, nearest first as Chroma sorts them. */
export function fromChromaQuery(result: z.infer<typeof ChromaQuerySchema>, metric: VectorMetric): VectorMatch[] {
  const ids = result.ids[0] ?? [];
  return ids.map((id, index) => {
    const distance = result.distances?.[0]?.[index];
    // We always ask for distances; a match without one cannot be ranked or scored.
    if (typeof distance !== "number") throw new UpstreamError("upstream_invalid_response", "Chroma returned a match without its distance");
    const metadata = result.metadatas?.[0]?.[index];
    const document = result.documents?.[0]?.[index];
    const vector = result.embeddings?.[0]?.[index];
    return {
      id,
      score: scoreOf(distance, metric),
      ...(metadata && Object.keys(metadata).length > 0 ? { payload: metadata } : {}),
      ...(typeof document === "string" ? { document } : {}),
      ...(vector ? { vector } : {}),
    };
  });
}
