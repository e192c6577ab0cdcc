/**
 * @module gateway/connectors/chroma/wire
 * The parts of Chroma's v2 REST API this connector reads. Private to the connector.
 */
import { z } from "zod";

const SpaceSchema = z.looseObject({ space: z.string().optional() }).nullable().optional();

/** A collection as Chroma describes it; the metric is in `configuration_json` (1.x) or legacy `metadata["hnsw:space"]`. */
export const ChromaCollectionSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  dimension: z.number().int().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  configuration_json: z.looseObject({ hnsw: SpaceSchema, spann: SpaceSchema }).nullable().optional(),
});
export type ChromaCollection = z.infer<typeof ChromaCollectionSchema>;

export const ChromaCollectionListSchema = z.array(ChromaCollectionSchema);

/** `POST …/query` with one query vector: every field is a list of lists (one inner list per query vector). */
export const ChromaQuerySchema = z.looseObject({
  ids: z.array(z.array(z.string())),
  distances: z.array(z.array(z.number().nullable())).nullable().optional(),
  metadatas: z.array(z.array(z.record(z.string(), z.unknown()).nullable())).nullable().optional(),
  documents: z.array(z.array(z.string().nullable())).nullable().optional(),
  embeddings: z.array(z.array(z.array(z.number())).nullable()).nullable().optional(),
});

/** Write answers are an empty object (or null in some versions): only the status matters. */
export const ChromaAckSchema = z.unknown();
