/**
 * @module property.test
 * Property tests (fast-check): a verifying envelope still verifies after a JSON round trip with any
 * key order, and changing any single signed field, at any depth, makes verification fail.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createEnvelope, generateKeyPair, verifyEnvelope, type KlpEnvelope } from "../../src/klp/index.js";

const signer = generateKeyPair();
const other = generateKeyPair();

const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown);
const envelopeArb = fc
  .record({
    capability: fc.string({ minLength: 1, maxLength: 20 }),
    parameters: fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 5 }),
    priority: fc.constantFrom("low", "normal", "high", "urgent" as const),
    ttl: fc.integer({ min: 1, max: 3600 }),
    timestamp: fc.integer({ min: Date.parse("2000-01-01T00:00:00.000Z"), max: Date.parse("2100-01-01T00:00:00.000Z") }),
  })
  .map(({ capability, parameters, priority, ttl, timestamp }) =>
    createEnvelope(
      {
        type: "task_request",
        to: "klp://svc",
        payload: { taskId: "t", capability, parameters },
        metadata: { priority, ttl },
        timestamp: new Date(timestamp),
      },
      signer,
    ),
  );

/** Every path to a leaf (or an empty container) of a JSON value. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return [prefix];
    return entries.flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
  }
  return [prefix];
}

function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
  return value;
}

/** A different JSON value at `path`. */
function mutate(envelope: KlpEnvelope, path: string[]): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(envelope)) as Record<string, unknown>;
  if (path.length === 0) return copy;
  let parent: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const last = path.at(-1) ?? "";
  const current = parent[last];
  if (last === "from") parent[last] = other.did;
  else if (typeof current === "string") parent[last] = current === "" ? "x" : `${current}x`;
  // Negation, not +1: adding 1 to a large double (1e300) gives the same number back.
  else if (typeof current === "number") parent[last] = current === 0 ? 1 : -current;
  else if (typeof current === "boolean") parent[last] = !current;
  else if (current === null) parent[last] = 0;
  else if (Array.isArray(current)) parent[last] = [...(current as unknown[]), 1];
  else parent[last] = { ...(current as object), added: 1 };
  return copy;
}

describe("signature properties", () => {
  it("verifies after a JSON round trip with reordered keys", () => {
    fc.assert(
      fc.property(envelopeArb, (envelope) => {
        expect(verifyEnvelope(envelope)).toBe(true);
        const roundTripped = JSON.parse(JSON.stringify(reversedKeys(envelope))) as Record<string, unknown>;
        expect(verifyEnvelope(roundTripped)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("fails after any single-field change (signature included)", () => {
    fc.assert(
      fc.property(envelopeArb, fc.nat(), (envelope, pick) => {
        const paths = leafPaths(envelope);
        const path = paths[pick % paths.length] ?? ["id"];
        expect(verifyEnvelope(mutate(envelope, path)), path.join(".")).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("fails when a field is removed or added", () => {
    fc.assert(
      fc.property(envelopeArb, fc.constantFrom("metadata", "payload", "timestamp", "to", "type", "id", "protocol"), (envelope, field) => {
        const { [field]: _removed, ...rest } = envelope as unknown as Record<string, unknown>;
        expect(verifyEnvelope(rest)).toBe(false);
        expect(verifyEnvelope({ ...envelope, route: [] })).toBe(false);
      }),
      { numRuns: 30 },
    );
  });
});
