/**
 * @module storage/copy/content-digest
 * How `kai storage copy` fingerprints what a store holds (inventory.ts, identity-inventory.ts): canonical JSON of
 * each row (object keys sorted, Buffers as hex) fed into SHA-256, rows in an order that is the same on every
 * machine. Equal digests on source and target mean equal content, not only equal counts.
 */
import { createHash, type Hash } from "node:crypto";

/** Canonical JSON: object keys sorted, Buffers as hex, undefined members dropped. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    // JSON.stringify hands a Buffer to the replacer in its toJSON() form, `{ type: "Buffer", data: [...] }`.
    if (inner !== null && typeof inner === "object" && (inner as { type?: unknown }).type === "Buffer" && Array.isArray((inner as { data?: unknown }).data)) {
      return { hex: Buffer.from((inner as { data: number[] }).data).toString("hex") };
    }
    if (inner !== null && typeof inner === "object" && !Array.isArray(inner)) {
      return Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return inner;
  });
}

/** Adds one row to a running digest. */
export function feed(hash: Hash, value: unknown): void {
  hash.update(canonical(value)).update("\n");
}

/** The digest (hex) of `items` in the order given. */
export function digestOf(items: Iterable<unknown>): string {
  const hash = createHash("sha256");
  for (const item of items) feed(hash, item);
  return hash.digest("hex");
}

/** Orders rows by a text key (code-unit order: the same on every machine, unlike localeCompare). */
export function byKey<T>(key: (row: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const left = key(a);
    const right = key(b);
    return left < right ? -1 : left > right ? 1 : 0;
  };
}
