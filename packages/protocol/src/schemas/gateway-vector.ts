/**
 * @module gateway-vector
 * The one provider-neutral vector-storage API of the gateway (capability `vector_storage`). Callers speak
 * this shape; each connector (Qdrant, Chroma, …) maps it to its provider's wire format, so a client can move
 * between vector databases without changing a request. Deliberately small: collections, upsert, nearest-k
 * query with an equality filter, delete. Provider-only features stay with the provider's own API.
 */
import { z } from "zod";

/** Collection and field names: what every supported provider accepts (Chroma is the strictest). */
export const VectorCollectionNameSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must start with a letter or digit and use only letters, digits and . _ -");

/**
 * Distance metric of a collection. Providers name them differently (Qdrant `Cosine`/`Euclid`/`Dot`,
 * Chroma `cosine`/`l2`/`ip`); connectors translate.
 */
export const VectorMetricSchema = z.enum(["cosine", "euclid", "dot"]);
export type VectorMetric = z.infer<typeof VectorMetricSchema>;

/** A point id: a string or a non-negative integer (Qdrant's two id kinds; Chroma stores it as a string). */
export const VectorPointIdSchema = z.union([z.string().min(1).max(512), z.number().int().nonnegative()]);
export type VectorPointId = z.infer<typeof VectorPointIdSchema>;

const ScalarSchema = z.union([z.string(), z.number(), z.boolean()]);

/**
 * Metadata filter: every entry must hold (AND). A scalar means "field equals value"; `{ in: [...] }` means
 * "field equals one of". Anything richer is provider-specific on purpose: the common subset is what makes a
 * query portable.
 */
export const VectorFilterSchema = z.record(z.string().min(1), z.union([ScalarSchema, z.strictObject({ in: z.array(ScalarSchema).min(1) })]));
export type VectorFilter = z.infer<typeof VectorFilterSchema>;

export const VectorCollectionCreateRequestSchema = z.strictObject({
  name: VectorCollectionNameSchema,
  /** Vector length. Qdrant needs it up front; Chroma fixes it on the first upsert. */
  dimension: z.number().int().positive().max(65_536),
  metric: VectorMetricSchema.default("cosine"),
});
export type VectorCollectionCreateRequest = z.input<typeof VectorCollectionCreateRequestSchema>;

export const VectorCollectionSchema = z.looseObject({
  name: z.string(),
  /** Vector length, when the provider reports it (Chroma: null until the first upsert). */
  dimension: z.number().int().nullable().optional(),
  metric: VectorMetricSchema.optional(),
});
export type VectorCollection = z.infer<typeof VectorCollectionSchema>;

export const VectorCollectionListSchema = z.object({ collections: z.array(VectorCollectionSchema) });
export type VectorCollectionList = z.infer<typeof VectorCollectionListSchema>;

export const VectorPointSchema = z.strictObject({
  id: VectorPointIdSchema,
  vector: z.array(z.number()).min(1),
  /** Metadata stored with the point and returned by queries (Chroma accepts only scalar values). */
  payload: z.record(z.string(), z.unknown()).optional(),
  /** Source text the vector was computed from, when the caller keeps it with the point. */
  document: z.string().optional(),
});
export type VectorPoint = z.infer<typeof VectorPointSchema>;

export const VectorUpsertRequestSchema = z.strictObject({
  collection: VectorCollectionNameSchema,
  points: z.array(VectorPointSchema).min(1).max(10_000),
});
export type VectorUpsertRequest = z.infer<typeof VectorUpsertRequestSchema>;

export const VectorQueryRequestSchema = z.strictObject({
  collection: VectorCollectionNameSchema,
  vector: z.array(z.number()).min(1),
  /** How many nearest points to return. */
  k: z.number().int().positive().max(1_000).default(10),
  filter: VectorFilterSchema.optional(),
  /** Return each match's stored vector too (off by default: vectors are large). */
  includeVectors: z.boolean().default(false),
});
export type VectorQueryRequest = z.input<typeof VectorQueryRequestSchema>;

export const VectorMatchSchema = z.object({
  id: VectorPointIdSchema,
  /**
   * How close the point is, on the collection's metric: for `cosine` and `dot` the similarity (higher is
   * closer), for `euclid` the distance (lower is closer). Matches are always ordered nearest first.
   */
  score: z.number(),
  payload: z.record(z.string(), z.unknown()).optional(),
  document: z.string().optional(),
  vector: z.array(z.number()).optional(),
});
export type VectorMatch = z.infer<typeof VectorMatchSchema>;

export const VectorQueryResponseSchema = z.object({ matches: z.array(VectorMatchSchema) });
export type VectorQueryResponse = z.infer<typeof VectorQueryResponseSchema>;

/** Delete by ids, by filter, or both (a point must then match both). At least one is required. */
export const VectorDeleteRequestSchema = z
  .strictObject({
    collection: VectorCollectionNameSchema,
    ids: z.array(VectorPointIdSchema).min(1).max(10_000).optional(),
    filter: VectorFilterSchema.optional(),
  })
  .refine((request) => request.ids !== undefined || (request.filter !== undefined && Object.keys(request.filter).length > 0), {
    message: "give ids or a non-empty filter (deleting everything is a collection delete)",
  });
export type VectorDeleteRequest = z.infer<typeof VectorDeleteRequestSchema>;

/** Outcome of an upsert, a point delete or a collection create/delete. */
export const VectorWriteResultSchema = z.object({
  /** `completed`: applied and visible to queries; `acknowledged`: accepted, applied shortly. */
  status: z.enum(["completed", "acknowledged"]),
  /** Points written (upsert only). */
  count: z.number().int().nonnegative().optional(),
});
export type VectorWriteResult = z.infer<typeof VectorWriteResultSchema>;
