/**
 * @module memory
 * Semantic memory (issue 17, docs/data/memory.md): short texts an agent or a user wants recalled later by meaning.
 * The node embeds each memory through its own gateway (`embeddings` capability) and indexes the vector; a search
 * embeds the query the same way and returns the nearest memories by cosine similarity, with their scores.
 * Memory is append-only: the same text stored twice in one namespace is one memory (content-hash dedupe), a memory
 * is corrected by deleting it and adding the new text. Namespaces belong to their owner (the token's owner): two
 * owners' `default` namespaces are two namespaces.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** `mem_` + time-ordered characters (ids sort by creation). */
export const MemoryIdSchema = z.string().regex(/^mem_[0-9a-z]{10,64}$/, "must be a memory id (mem_…)");

/** A namespace within its owner's memory: letters, digits, `_ . : / -`, starting with a letter or digit. */
export const MemoryNamespaceSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/, "must be letters, digits, _ . : / - (at most 128), starting with a letter or digit");

/** A metadata key (also the `filter[key]` of a search). */
export const MemoryMetadataKeySchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/, "must be letters, digits, _ . : - (at most 64)");

/** Flat metadata: filters compare each value by its text (`filter[year]=2026` matches the number 2026). */
export const MemoryMetadataSchema = z
  .record(MemoryMetadataKeySchema, z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]))
  .refine((metadata) => Object.keys(metadata).length <= 32, "at most 32 metadata keys");
export type MemoryMetadata = z.infer<typeof MemoryMetadataSchema>;

/** Longest memory text, in characters (embedding models cut far shorter texts; this bounds the request). */
export const MEMORY_TEXT_MAX = 32_768;

export const MemorySchema = z.object({
  id: MemoryIdSchema,
  namespace: MemoryNamespaceSchema,
  /** The token owner whose memory it is. */
  owner: z.string(),
  text: z.string(),
  metadata: MemoryMetadataSchema,
  /** Other memories this one relates to (same owner and namespace); a search may expand its results along them. */
  relations: z.array(MemoryIdSchema),
  /** Lower-case hex SHA-256 of the text: the dedupe key within the namespace. */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** The embedding model the vector came from (searches use one model; see docs/data/memory.md). */
  model: z.string(),
  dimensions: z.number().int().positive(),
  createdAt: TimestampSchema,
  /** When the memory expires (from `ttlSeconds`); null: never. An expired memory is never returned. */
  expiresAt: TimestampSchema.nullable(),
});
export type Memory = z.infer<typeof MemorySchema>;

/** `POST /api/memory`. */
export const AddMemoryRequestSchema = z.strictObject({
  text: z.string().min(1).max(MEMORY_TEXT_MAX).refine((text) => text.trim().length > 0, "must not be blank"),
  namespace: MemoryNamespaceSchema.default("default"),
  metadata: MemoryMetadataSchema.default({}),
  /** Seconds until the memory expires (at most a year); absent: never. */
  ttlSeconds: z.int().min(1).max(31_536_000).optional(),
  relations: z.array(MemoryIdSchema).max(64).default([]),
});
export type AddMemoryRequest = z.input<typeof AddMemoryRequestSchema>;

/** 201 with `created: true`; 200 with `created: false` and the memory stored first when the text was already there. */
export const AddMemoryResponseSchema = z.object({ memory: MemorySchema, created: z.boolean() });
export type AddMemoryResponse = z.infer<typeof AddMemoryResponseSchema>;

export const MemoryResponseSchema = z.object({ memory: MemorySchema });
export type MemoryResponse = z.infer<typeof MemoryResponseSchema>;

/** `filter[key]=value` query parameters, at most 16. */
const FILTER_PARAM = /^filter\[([A-Za-z0-9_][A-Za-z0-9_.:-]{0,63})\]$/;

/** The `filter[key]` parameters of a query, as `{ key: value }`. */
export function memoryFiltersOf(query: Record<string, unknown>): Record<string, string> {
  const filters: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(query)) {
    const match = FILTER_PARAM.exec(name);
    if (match && typeof value === "string") filters[match[1]!] = value;
  }
  return filters;
}

/**
 * `GET /api/memory/search`: `q` embedded and searched in `namespace`; `filter[key]=value` (metadata equality, all
 * must hold) is applied inside the search, so `limit` results come back whenever that many match.
 */
export const SearchMemoryParamsSchema = z.object({
  q: z.string().min(1).max(MEMORY_TEXT_MAX),
  namespace: MemoryNamespaceSchema.default("default"),
  limit: z.coerce.number().int().min(1).max(100).default(10),
  /** Only results with a cosine similarity at least this. */
  threshold: z.coerce.number().min(-1).max(1).optional(),
  /** Also return the memories the results relate to (marked with `relatedTo`). */
  expand: z.enum(["true", "false"]).transform((value) => value === "true").optional(),
  /** An admin may search another owner's namespace. */
  owner: z.string().min(1).max(128).optional(),
});
/** The search's own parameters (the filters aside). */
export type SearchMemoryParams = z.output<typeof SearchMemoryParamsSchema>;

export const SearchMemoryQuerySchema = SearchMemoryParamsSchema
  .catchall(z.string().max(1024))
  .superRefine((query, context) => {
    const known = new Set(["q", "namespace", "limit", "threshold", "expand", "owner"]);
    const extra = Object.keys(query).filter((key) => !known.has(key));
    for (const key of extra) {
      if (!FILTER_PARAM.test(key)) context.addIssue({ code: "custom", path: [key], message: "unknown parameter (metadata filters are filter[key]=value)" });
    }
    if (extra.length > 16) context.addIssue({ code: "custom", path: [], message: "at most 16 filters" });
  });
export type SearchMemoryQuery = z.output<typeof SearchMemoryQuerySchema>;

export const MemorySearchResultSchema = z.object({
  memory: MemorySchema,
  /** Cosine similarity to the query, -1 … 1. */
  score: z.number(),
  /** Present on a result added by relation expansion: the id of the result it relates to. */
  relatedTo: MemoryIdSchema.optional(),
});
export type MemorySearchResult = z.infer<typeof MemorySearchResultSchema>;

export const SearchMemoryResponseSchema = z.object({
  results: z.array(MemorySearchResultSchema),
  /** The embedding model the query was embedded with. */
  model: z.string(),
});
export type SearchMemoryResponse = z.infer<typeof SearchMemoryResponseSchema>;

/** `POST /api/memory/delete`: every memory of `namespace` matching `filter`, or all of it with `all: true`. */
export const DeleteMemoriesRequestSchema = z
  .strictObject({
    namespace: MemoryNamespaceSchema,
    filter: z.record(MemoryMetadataKeySchema, z.string().max(1024)).refine((filter) => Object.keys(filter).length >= 1 && Object.keys(filter).length <= 16, "1 to 16 filters").optional(),
    all: z.literal(true).optional(),
    owner: z.string().min(1).max(128).optional(),
  })
  .refine((body) => (body.filter === undefined) !== (body.all === undefined), { message: "give either filter or all: true", path: ["filter"] });
export type DeleteMemoriesRequest = z.input<typeof DeleteMemoriesRequestSchema>;

export const DeleteMemoriesResponseSchema = z.object({ deleted: z.number().int().nonnegative() });
export type DeleteMemoriesResponse = z.infer<typeof DeleteMemoriesResponseSchema>;

/** Start re-embedding every memory under `model` (absent: the node's `memory.model`). */
export const ReembedMemoriesRequestSchema = z.strictObject({
  model: z.string().min(1).max(200).optional(),
});
export type ReembedMemoriesRequest = z.input<typeof ReembedMemoriesRequestSchema>;

export const ReembedStateSchema = z.enum(["idle", "running", "completed", "failed", "canceled", "interrupted"]);
export type ReembedState = z.infer<typeof ReembedStateSchema>;

/**
 * The re-embedding job (docs/data/memory.md "Changing the embedding model"): one per node, its progress stored so every
 * instance answers the same. `interrupted`: it was running on an instance that stopped; starting again resumes (the
 * memories already under the model are skipped).
 */
export const ReembedStatusSchema = z.object({
  state: ReembedStateSchema,
  /** The model memories are being moved to. */
  model: z.string().nullable(),
  /** Memories under another model when the job started. */
  total: z.number().int().nonnegative(),
  /** Re-embedded so far. */
  done: z.number().int().nonnegative(),
  /** Gone (deleted, expired) before their turn. */
  skipped: z.number().int().nonnegative(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** The instance running it (its name). */
  instance: z.string().nullable(),
  /** Why it failed (the gateway's error code and message). */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type ReembedStatus = z.infer<typeof ReembedStatusSchema>;

const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The sidecar of one saved HNSW graph of the embedded memory index (a file under `<dataDir>/memory-index/`, never
 * sent over the API; docs/data/memory.md "Restarts"): what the graph covers and how it was built. The node trusts
 * the graph only when every field matches what it read from the rows and its own settings; else it rebuilds.
 */
export const MemoryIndexSnapshotSchema = z.strictObject({
  format: z.literal(1),
  /** SHA-256 of the usearch package.json that wrote the graph (another usearch build: rebuilt). */
  usearch: Sha256HexSchema,
  /** The index partition (owner, namespace, model). */
  partition: z.string(),
  dimensions: z.int().positive(),
  metric: z.string(),
  quantization: z.string(),
  connectivity: z.int().positive(),
  expansionAdd: z.int().positive(),
  /** The vectors the graph holds, and the sum of SHA-256(id, vector) over them (order-free): equal only to the same set. */
  count: z.int().nonnegative(),
  digest: Sha256HexSchema,
  /** The graph file beside the sidecar, its size and SHA-256 (a torn or damaged file is never loaded). */
  graphFile: z.string().regex(/^[0-9a-f]{64}\.[0-9a-f]{16}\.usearch$/),
  graphBytes: z.int().nonnegative(),
  graphSha256: Sha256HexSchema,
  /** Memory ids and their usearch labels, pairwise; and the next label to give. */
  ids: z.array(z.string()),
  labels: z.array(z.int().positive()),
  nextLabel: z.int().positive(),
});
export type MemoryIndexSnapshot = z.infer<typeof MemoryIndexSnapshotSchema>;
