/**
 * @module test/gateway/fakes/chroma-fake
 * An in-memory fake Chroma 1.x speaking its v2 REST API under `/api/v2/tenants/default_tenant/databases/
 * default_database/collections`: collections by name (create with `configuration.hnsw.space`, 409
 * `UniqueConstraintError` on a duplicate, 404 `NotFoundError`), records by collection id (`upsert` column
 * arrays with scalar, non-empty metadata and a fixed dimension; `query` with l2 (squared) / cosine / ip
 * distances, `where` with `$eq`, `$in`, `$and`, and `include`; `delete` by ids or where), `GET /api/v2/heartbeat`,
 * `x-chroma-token` auth, and 410 for the removed v1 API. Errors are `{error, message}`.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "./fake-server.js";
import { cosine, dot, squaredL2 } from "./vector-math.js";

export const CHROMA_BASE = "/api/v2/tenants/default_tenant/databases/default_database/collections";

interface StoredRecord {
  embedding: number[];
  metadata: Record<string, unknown> | null;
  document: string | null;
}
interface Collection {
  id: string;
  name: string;
  space: "l2" | "cosine" | "ip";
  dimension: number | null;
  records: Map<string, StoredRecord>;
}

type Where = Record<string, unknown>;
function satisfies(metadata: Record<string, unknown> | null, where: Where | undefined): boolean {
  if (!where) return true;
  return Object.entries(where).every(([key, condition]) => {
    if (key === "$and") return (condition as Where[]).every((part) => satisfies(metadata, part));
    const value = metadata?.[key];
    if (condition && typeof condition === "object") {
      const operator = condition as { $eq?: unknown; $in?: unknown[] };
      if ("$in" in operator) return operator.$in!.includes(value);
      return value === operator.$eq;
    }
    return value === condition;
  });
}

const model = (collection: Collection) => ({
  id: collection.id,
  name: collection.name,
  metadata: null,
  dimension: collection.dimension,
  tenant: "default_tenant",
  database: "default_database",
  log_position: 0,
  version: 0,
  configuration_json: { hnsw: { space: collection.space, ef_construction: 100, ef_search: 100, max_neighbors: 16 }, spann: null, embedding_function: null },
});

export interface ChromaFakeOptions {
  requireKey?: string;
}

export function chromaWire(options: ChromaFakeOptions, collections: Map<string, Collection>): ProviderWire {
  const error = (name: string, message: string) => ({ error: name, message });
  return {
    errorBody: (_status, message) => error("InternalError", message),
    streamErrorFrame: () => "",
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (request.path === "/api/v2/heartbeat") return fake.sendJson(res, 200, { "nanosecond heartbeat": Date.now() * 1e6 });
      if (request.path.startsWith("/api/v1/")) return fake.sendJson(res, 410, error("Unimplemented", "The v1 API is deprecated. Please use /v2 apis"));
      if (options.requireKey && request.headers["x-chroma-token"] !== options.requireKey) {
        return fake.sendJson(res, 401, error("AuthError", `Unauthorized token ${String(request.headers["x-chroma-token"])}`));
      }
      if (!request.path.startsWith(CHROMA_BASE)) return fake.sendJson(res, 404, error("NotFoundError", "route not found"));
      const body = (request.body ?? {}) as Record<string, unknown>;
      const rest = request.path.slice(CHROMA_BASE.length).split("/").filter(Boolean).map(decodeURIComponent);
      if (rest.length === 0) {
        if (request.method === "GET") return fake.sendJson(res, 200, [...collections.values()].map(model));
        const name = String(body.name);
        const existing = collections.get(name);
        if (existing && body.get_or_create !== true) return fake.sendJson(res, 409, error("UniqueConstraintError", `Collection [${name}] already exists`));
        const space = ((body.configuration as { hnsw?: { space?: string } } | undefined)?.hnsw?.space ?? "l2") as Collection["space"];
        const created = existing ?? { id: randomUUID(), name, space, dimension: null, records: new Map() };
        collections.set(name, created);
        return fake.sendJson(res, 200, model(created));
      }
      if (rest.length === 1) {
        const collection = collections.get(rest[0]!);
        if (!collection) return fake.sendJson(res, 404, error("NotFoundError", `Collection [${rest[0]}] does not exists`));
        if (request.method === "DELETE") {
          collections.delete(rest[0]!);
          return fake.sendJson(res, 200, {});
        }
        return fake.sendJson(res, 200, model(collection));
      }
      const collection = [...collections.values()].find((candidate) => candidate.id === rest[0]);
      if (!collection) return fake.sendJson(res, 404, error("NotFoundError", `Collection [${rest[0]}] does not exists`));
      switch (rest[1]) {
        case "upsert": {
          const ids = body.ids as string[];
          const embeddings = body.embeddings as number[][];
          const metadatas = body.metadatas as Array<Record<string, unknown> | null> | undefined;
          const documents = body.documents as Array<string | null> | undefined;
          for (const [index, embedding] of embeddings.entries()) {
            const dimension = collection.dimension ?? embedding.length;
            if (embedding.length !== dimension) return fake.sendJson(res, 400, error("InvalidArgumentError", `Collection expecting embedding with dimension of ${dimension}, got ${embedding.length}`));
            const metadata = metadatas?.[index];
            if (metadata && Object.keys(metadata).length === 0) return fake.sendJson(res, 400, error("InvalidArgumentError", "Expected metadata to be a non-empty dict"));
            if (metadata && Object.values(metadata).some((value) => value !== null && typeof value === "object")) return fake.sendJson(res, 400, error("InvalidArgumentError", "Expected metadata value to be a str, int, float or bool"));
          }
          collection.dimension ??= embeddings[0]?.length ?? null;
          ids.forEach((id, index) => collection.records.set(id, { embedding: embeddings[index]!, metadata: metadatas?.[index] ?? null, document: documents?.[index] ?? null }));
          return fake.sendJson(res, 200, {});
        }
        case "query": {
          const query = (body.query_embeddings as number[][])[0]!;
          const include = (body.include as string[] | undefined) ?? ["metadatas", "documents", "distances"];
          const distance = (embedding: number[]) =>
            collection.space === "cosine" ? 1 - cosine(query, embedding) : collection.space === "ip" ? 1 - dot(query, embedding) : squaredL2(query, embedding);
          const ranked = [...collection.records.entries()]
            .filter(([, record]) => satisfies(record.metadata, body.where as Where | undefined))
            .map(([id, record]) => ({ id, record, distance: distance(record.embedding) }))
            .sort((a, b) => a.distance - b.distance)
            .slice(0, Number(body.n_results ?? 10));
          return fake.sendJson(res, 200, {
            ids: [ranked.map((hit) => hit.id)],
            distances: include.includes("distances") ? [ranked.map((hit) => hit.distance)] : null,
            metadatas: include.includes("metadatas") ? [ranked.map((hit) => hit.record.metadata)] : null,
            documents: include.includes("documents") ? [ranked.map((hit) => hit.record.document)] : null,
            embeddings: include.includes("embeddings") ? [ranked.map((hit) => hit.record.embedding)] : null,
            uris: null,
            include,
          });
        }
        case "delete": {
          const ids = body.ids as string[] | undefined;
          for (const [id, record] of collection.records) {
            if ((ids === undefined || ids.includes(id)) && satisfies(record.metadata, body.where as Where | undefined)) collection.records.delete(id);
          }
          return fake.sendJson(res, 200, {});
        }
        default:
          return fake.sendJson(res, 404, error("NotFoundError", "route not found"));
      }
    },
  };
}

export async function startChromaFake(options: ChromaFakeOptions = {}): Promise<{ fake: FakeUpstream; collections: Map<string, Collection> }> {
  const collections = new Map<string, Collection>();
  return { fake: await new FakeUpstream(chromaWire(options, collections)).start(), collections };
}
