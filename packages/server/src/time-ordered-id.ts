/**
 * @module time-ordered-id
 * Identifiers of things the node creates often (tasks, task runners, memories, artifacts): `<prefix>_<time><random>`,
 * the creation time in base 36 (ids sort by creation) and 64 random bits. The random part is hex taken from a pool
 * that one `randomBytes` call fills, as Node's own `randomUUID` does: a synchronous `randomBytes` per id cost 5 µs in a
 * loop and 30–140 µs now and then in the node (measured on a task's create path, which made two of them). The bytes
 * are the same CSPRNG's and each is used once, so an id is as unpredictable as before; nothing secret (keys, nonces,
 * tokens) is drawn from this pool.
 */
import { randomBytes } from "node:crypto";

/** Bytes fetched at once; refilled when the next id would need more than what is left. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `bytes` random bytes as lowercase hex (2 × `bytes` characters). */
export function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, bytes));
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return hex;
}

/** `<prefix>_<ms since 1970 in base 36, 10 characters><16 hex characters>`. */
export function timeOrderedId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(10, "0")}${randomHex(8)}`;
}
