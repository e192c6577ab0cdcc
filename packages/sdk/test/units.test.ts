/**
 * The pure parts: query serialisation, backoff, deep equality, and the watcher's view rules
 * (no revision applied twice; events that leave the filter remove the service).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ServiceFilterSchema, ServiceRecordSchema, type EventMessage, type ServiceRecord } from "@kai/protocol";
import { toQueryString } from "../src/query-string.js";
import { backoffDelay } from "../src/backoff.js";
import { deepEqual } from "../src/deep-equal.js";
import { RegistryView } from "../src/registry-view.js";

function record(id: string, overrides: Partial<ServiceRecord> = {}): ServiceRecord {
  return ServiceRecordSchema.parse({
    id,
    name: id,
    description: "",
    type: "service",
    capabilities: ["llm_chat"],
    tags: ["a"],
    auth: { type: "none" },
    endpoints: [],
    owner: "alice",
    visibility: "public",
    trustLevel: "unverified",
    metadata: {},
    heartbeat: null,
    status: "active",
    createdAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
    revision: 1,
    ...overrides,
  });
}

function event(kind: EventMessage["event"], revision: number, service: ServiceRecord, reason?: "hidden"): EventMessage {
  return reason ? { type: "event", event: kind, revision, serviceId: service.id, reason } : { type: "event", event: kind, revision, serviceId: service.id, service };
}

describe("toQueryString", () => {
  it("repeats keys for lists and leaves out absent values", () => {
    expect(toQueryString({ tag: ["a", "b"], limit: 10, q: undefined, owner: null })).toBe("?tag=a&tag=b&limit=10");
    expect(toQueryString({})).toBe("");
    expect(toQueryString(undefined)).toBe("");
  });

  it("round-trips any list of values through URLSearchParams", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), fc.string(), (tags, q) => {
        const params = new URLSearchParams(toQueryString({ tag: tags, q }).slice(1));
        expect(params.getAll("tag")).toEqual(tags);
        expect(params.get("q")).toBe(q);
      }),
    );
  });

  it("refuses nested objects instead of sending [object Object]", () => {
    expect(() => toQueryString({ filter: { a: 1 } })).toThrow(TypeError);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially between min and max, with jitter", () => {
    const options = { minDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, options, () => 1)).toBe(100);
    expect(backoffDelay(2, options, () => 1)).toBe(400);
    expect(backoffDelay(10, options, () => 1)).toBe(1000);
    expect(backoffDelay(10, options, () => 0)).toBe(100);
    fc.assert(
      fc.property(fc.nat(1000), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random) => {
        const delay = backoffDelay(attempt, {}, () => random);
        expect(delay).toBeGreaterThanOrEqual(250);
        expect(delay).toBeLessThanOrEqual(10_000);
      }),
    );
  });
});

describe("deepEqual", () => {
  it("ignores key order and undefined keys, but not values", () => {
    expect(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: "1" })).toBe(false);
    expect(deepEqual({ a: {} }, { a: [] })).toBe(false);
    expect(deepEqual({ a: null }, { a: {} })).toBe(false);
  });

  it("agrees with JSON equality for JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(deepEqual(a, structuredClone(a))).toBe(true);
        if (JSON.stringify(a) !== JSON.stringify(b) && !deepEqual(a, b)) return;
        // Equal by deepEqual implies equal as canonical JSON (keys sorted).
        const canonical = (value: unknown): unknown =>
          Array.isArray(value) ? value.map(canonical) : value && typeof value === "object" ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, canonical(v)])) : value;
        expect(JSON.stringify(canonical(a))).toBe(JSON.stringify(canonical(b)));
      }),
    );
  });
});

describe("RegistryView", () => {
  it("replaces the view on a snapshot and applies events once", () => {
    const view = new RegistryView(ServiceFilterSchema.parse({}));
    view.applySnapshot(5, [record("a"), record("b")]);
    expect([...view.services.keys()].sort()).toEqual(["a", "b"]);

    expect(view.applyEvent(event("registered", 6, record("c", { revision: 6 })))).toBe(true);
    expect(view.applyEvent(event("updated", 6, record("c", { name: "dup", revision: 6 })))).toBe(false);
    expect(view.applyEvent(event("updated", 4, record("a", { name: "old" })))).toBe(false);
    expect(view.services.get("c")?.name).toBe("c");
    expect(view.services.get("a")?.name).toBe("a");

    expect(view.applyEvent(event("deregistered", 7, record("b")))).toBe(true);
    expect(view.services.has("b")).toBe(false);
    expect(view.revision).toBe(7);

    view.applySnapshot(3, [record("z")]);
    expect([...view.services.keys()]).toEqual(["z"]);
    expect(view.revision).toBe(3);
  });

  it("drops a service that no longer matches the filter or was hidden", () => {
    const view = new RegistryView(ServiceFilterSchema.parse({ tag: ["gpu"] }));
    view.applySnapshot(1, [record("a", { tags: ["gpu"] }), record("b", { tags: ["gpu"] })]);
    view.applyEvent(event("updated", 2, record("a", { tags: ["cpu"] })));
    expect(view.services.has("a")).toBe(false);
    view.applyEvent(event("updated", 3, record("b"), "hidden"));
    expect(view.services.size).toBe(0);
    view.applyEvent(event("registered", 4, record("c", { tags: ["gpu", "x"] })));
    expect([...view.services.keys()]).toEqual(["c"]);
  });

  it("only moves forward on progress", () => {
    const view = new RegistryView(ServiceFilterSchema.parse({}), 10);
    view.advanceTo(8);
    expect(view.revision).toBe(10);
    view.advanceTo(12);
    expect(view.revision).toBe(12);
  });
});
