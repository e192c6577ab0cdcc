/**
 * @module test/gateway/fakes/qdrant-fake
 * An in-memory fake Qdrant speaking its REST API: `{result, status, time}` envelopes, `{status: {error}}`
 * errors, the `api-key` header, collections (`GET/PUT/DELETE /collections[/{name}]`, 409 on a duplicate,
 * `result: false` when deleting a missing one), points upsert (ids must be unsigned integers or UUIDs, vectors
 * of the collection's size), `points/search` ranked by Cosine/Dot similarity or Euclid distance with
 * `must` filters (`match.value`, `match.any`, `has_id`), `points/delete` by ids or filter, and `GET /healthz`.
 */
import type { ServerResponse } from "node:http";
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "./fake-server.js";
import { cosine, dot, squaredL2 } from "./vector-math.js";

type PointId = string | number;
interface StoredPoint {
  id: PointId;
  vector: number[];
  payload: Record<string, unknown>;
}
interface Collection {
  size: number;
  distance: "Cosine" | "Euclid" | "Dot";
  points: Map<string, StoredPoint>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ok = (result: unknown) => ({ result, status: "ok", time: 0.000_12 });
const failure = (error: string) => ({ status: { error }, time: 0.000_05 });

type Condition = { key?: string; match?: { value?: unknown; any?: unknown[] }; has_id?: PointId[] };

function matches(point: StoredPoint, filter: { must?: Condition[] } | undefined): boolean {
  return (filter?.must ?? []).every((condition) => {
    if (condition.has_id) return condition.has_id.some((id) => String(id) === String(point.id));
    const value = point.payload[condition.key ?? ""];
    if (condition.match?.any) return condition.match.any.includes(value);
    return value === condition.match?.value;
  });
}

export interface QdrantFakeOptions {
  requireKey?: string;
}

export function qdrantWire(options: QdrantFakeOptions, collections: Map<string, Collection>): ProviderWire {
  return {
    errorBody: (_status, message) => failure(message),
    streamErrorFrame: () => "",
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (request.method === "GET" && request.path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.end("healthz check passed");
        return;
      }
      if (options.requireKey && request.headers["api-key"] !== options.requireKey) {
        return fake.sendJson(res, 401, failure(`Invalid api-key: ${String(request.headers["api-key"])}`));
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (request.method === "GET" && request.path === "/collections") {
        return fake.sendJson(res, 200, ok({ collections: [...collections.keys()].map((name) => ({ name })) }));
      }
      const match = /^\/collections\/([^/]+)(\/points(?:\/(search|delete))?)?$/.exec(request.path);
      if (!match) return fake.sendJson(res, 404, failure("Not found"));
      const name = decodeURIComponent(match[1]!);
      const collection = collections.get(name);
      const sub = match[3] ?? (match[2] ? "points" : "");
      const missing = () => fake.sendJson(res, 404, failure(`Not found: Collection \`${name}\` doesn't exist!`));
      if (sub === "") {
        if (request.method === "PUT") {
          if (collection) return fake.sendJson(res, 409, failure(`Wrong input: Collection \`${name}\` already exists!`));
          const vectors = body.vectors as { size?: unknown; distance?: unknown } | undefined;
          if (typeof vectors?.size !== "number" || !["Cosine", "Euclid", "Dot"].includes(String(vectors.distance))) {
            return fake.sendJson(res, 400, failure("Format error in JSON body: missing field `size`"));
          }
          collections.set(name, { size: vectors.size, distance: vectors.distance as Collection["distance"], points: new Map() });
          return fake.sendJson(res, 200, ok(true));
        }
        if (request.method === "DELETE") return fake.sendJson(res, 200, ok(collections.delete(name)));
        if (!collection) return missing();
        return fake.sendJson(res, 200, ok({ status: "green", points_count: collection.points.size, config: { params: { vectors: { size: collection.size, distance: collection.distance } } } }));
      }
      if (!collection) return missing();
      const status = request.query.get("wait") === "true" ? "completed" : "acknowledged";
      if (sub === "points" && request.method === "PUT") {
        const points = (body.points ?? []) as StoredPoint[];
        for (const point of points) {
          if (!(typeof point.id === "number" && point.id >= 0) && !(typeof point.id === "string" && UUID.test(point.id))) {
            return fake.sendJson(res, 400, failure(`Format error in JSON body: value ${String(point.id)} is not a valid point ID, valid values are either an unsigned integer or a UUID`));
          }
          if (point.vector.length !== collection.size) {
            return fake.sendJson(res, 400, failure(`Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${point.vector.length}`));
          }
        }
        for (const point of points) collection.points.set(String(point.id), { id: point.id, vector: point.vector, payload: point.payload ?? {} });
        return fake.sendJson(res, 200, ok({ operation_id: 1, status }));
      }
      if (sub === "search" && request.method === "POST") {
        const vector = body.vector as number[];
        if (!Array.isArray(vector) || vector.length !== collection.size) return fake.sendJson(res, 400, failure(`Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${Array.isArray(vector) ? vector.length : 0}`));
        const score = (point: StoredPoint) =>
          collection.distance === "Cosine" ? cosine(vector, point.vector) : collection.distance === "Dot" ? dot(vector, point.vector) : Math.sqrt(squaredL2(vector, point.vector));
        const ranked = [...collection.points.values()]
          .filter((point) => matches(point, body.filter as { must?: Condition[] } | undefined))
          .map((point) => ({ point, score: score(point) }))
          // Qdrant sorts similarities descending and distances ascending.
          .sort((a, b) => (collection.distance === "Euclid" ? a.score - b.score : b.score - a.score))
          .slice(0, Number(body.limit ?? 10));
        return fake.sendJson(
          res,
          200,
          ok(ranked.map(({ point, score }) => ({ id: point.id, version: 1, score, payload: body.with_payload ? point.payload : null, vector: body.with_vector ? point.vector : null }))),
        );
      }
      if (sub === "delete" && request.method === "POST") {
        if (Array.isArray(body.points)) {
          for (const id of body.points as PointId[]) collection.points.delete(String(id));
        } else if (body.filter) {
          for (const [key, point] of collection.points) {
            if (matches(point, body.filter as { must?: Condition[] })) collection.points.delete(key);
          }
        } else {
          return fake.sendJson(res, 400, failure("Format error in JSON body: expected points or filter"));
        }
        return fake.sendJson(res, 200, ok({ operation_id: 2, status }));
      }
      return fake.sendJson(res, 404, failure("Not found"));
    },
  };
}

export async function startQdrantFake(options: QdrantFakeOptions = {}): Promise<{ fake: FakeUpstream; collections: Map<string, Collection> }> {
  const collections = new Map<string, Collection>();
  return { fake: await new FakeUpstream(qdrantWire(options, collections)).start(), collections };
}
