/**
 * @module gateway/connectors/qdrant/translate
 * Pure translation between the neutral vector API and Qdrant's REST bodies: metric names, the equality
 * filter → `{must: [{key, match}]}`, and point ids. Qdrant accepts only unsigned integers and UUIDs as ids,
 * so any other string id is turned into a name-based UUID (RFC 4122 version 5: the same string always gives
 * the same UUID, so upsert-then-delete by the caller's id works) and the caller's id is kept in the payload
 * under `_kai_id`, which queries hand back as the match id. The neutral `document` lives in the payload as
 * `document`.
 *
 * Those two payload keys are ours, so a caller may not use them (in a payload or a filter: 400
 * `validation_failed`), and `_kai_id` is read back only when it is the name the point's UUID was made from:
 * otherwise a caller's (or another writer's) `_kai_id` would replace the point's real id, and a delete by
 * that id would silently delete nothing. The layout itself is unchanged, so points stored before stay readable.
 */
import { createHash } from "node:crypto";
import type { FieldError, VectorFilter, VectorMatch, VectorMetric, VectorPoint, VectorPointId } from "@kai/protocol";
import { ApiError } from "../../../errors.js";

export const ORIGINAL_ID_KEY = "_kai_id";
export const DOCUMENT_KEY = "document";
/** Payload keys the connector keeps its own data in. */
export const RESERVED_KEYS: readonly string[] = [ORIGINAL_ID_KEY, DOCUMENT_KEY];

const reservedMessage = (key: string) =>
  key === DOCUMENT_KEY ? "reserved for the point's document: send it as the point's `document` field" : "reserved for the connector's own id mapping";

/** Refuses `keys` (a payload's or a filter's) that name a reserved key; `at` is the field path of the object. */
function refuseReserved(keys: Iterable<string>, at: string): void {
  const errors: FieldError[] = [];
  for (const key of keys) if (RESERVED_KEYS.includes(key)) errors.push({ path: `${at}.${key}`, message: reservedMessage(key) });
  if (errors.length > 0) throw new ApiError("validation_failed", `the Qdrant connector keeps its own data under ${RESERVED_KEYS.join(" and ")}; use other keys`, errors);
}

/** Refuses any point whose payload uses a reserved key (before anything is sent). */
export function checkPayloads(points: readonly VectorPoint[]): void {
  points.forEach((point, index) => {
    if (point.payload) refuseReserved(Object.keys(point.payload), `points.${index}.payload`);
  });
}

const METRICS: Record<VectorMetric, string> = { cosine: "Cosine", euclid: "Euclid", dot: "Dot" };

export function toQdrantDistance(metric: VectorMetric): string {
  return METRICS[metric];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Fixed namespace for our name-based ids (a random v4 chosen once; changing it would orphan stored points).
const NAMESPACE = Buffer.from("6f1c3a52-9d4e-4b7a-8c21-5e0f9b3d7a64".replace(/-/g, ""), "hex");

/**
 * UUID v5 of `name`. Hand-written (a dozen lines of RFC 4122 §4.3) because the `uuid` package is not a
 * dependency of the server and Node's crypto has only v4.
 */
export function uuidV5(name: string): string {
  const hash = createHash("sha1").update(NAMESPACE).update(name, "utf8").digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The id Qdrant stores for a caller's id; `mapped` says whether the caller's id must be kept in the payload. */
export function toQdrantId(id: VectorPointId): { id: string | number; mapped: boolean } {
  if (typeof id === "number" || UUID.test(id)) return { id, mapped: false };
  return { id: uuidV5(id), mapped: true };
}

export function toQdrantPoint(point: VectorPoint): Record<string, unknown> {
  const { id, mapped } = toQdrantId(point.id);
  const payload: Record<string, unknown> = { ...point.payload };
  if (point.document !== undefined) payload[DOCUMENT_KEY] = point.document;
  if (mapped) payload[ORIGINAL_ID_KEY] = point.id;
  return { id, vector: point.vector, payload };
}

/** Neutral filter → Qdrant `must` conditions (AND); `{in: [...]}` becomes `match.any`. Reserved keys are refused. */
export function toQdrantConditions(filter: VectorFilter | undefined): Record<string, unknown>[] {
  if (filter) refuseReserved(Object.keys(filter), "filter");
  return Object.entries(filter ?? {}).map(([key, value]) =>
    typeof value === "object" ? { key, match: { any: value.in } } : { key, match: { value } },
  );
}

/** One scored point → neutral match, with the caller's id and document taken back out of the payload. */
export function fromQdrantPoint(point: { id: string | number; score: number; payload?: Record<string, unknown> | null; vector?: unknown }): VectorMatch {
  const payload = { ...point.payload };
  const original = payload[ORIGINAL_ID_KEY];
  const document = payload[DOCUMENT_KEY];
  // Ours only if the point's UUID was made from it; anything else is someone's data and stays in the payload.
  const ours = typeof original === "string" && typeof point.id === "string" && uuidV5(original) === point.id.toLowerCase();
  if (ours) delete payload[ORIGINAL_ID_KEY];
  if (typeof document === "string") delete payload[DOCUMENT_KEY];
  return {
    id: ours ? original : point.id,
    score: point.score,
    ...(Object.keys(payload).length > 0 ? { payload } : {}),
    ...(typeof document === "string" ? { document } : {}),
    // Named-vector collections return an object; only a plain vector maps to the neutral shape.
    ...(Array.isArray(point.vector) ? { vector: point.vector as number[] } : {}),
  };
}
