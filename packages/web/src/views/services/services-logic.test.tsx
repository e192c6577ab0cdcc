// The Services page's rules on their own: how stream changes correct loaded pages, how the generated form
// turns values into a registration or a patch, and how filters are read from the address.
import { describe, expect, it } from "vitest";
import { compareServices, ServiceRegistrationSchema, type ServiceRecord } from "@kai/protocol";
import { mergeRows, sortAll, sortRows, type LiveChange } from "./list/rows";
import { parseFilters, readFilters, readSort, sortQuery } from "./list/filters";
import { fieldsOf } from "./form/schema-fields";
import { initialValues, toInput, toPatch } from "./form/form-values";
import { planManifest } from "./import/manifest";

function service(id: string, revision: number, extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    id,
    name: id,
    description: "",
    type: "service",
    capabilities: [],
    tags: [],
    auth: { type: "none" },
    endpoints: [],
    owner: "admin",
    visibility: "public",
    trustLevel: "unverified",
    metadata: {},
    heartbeat: null,
    status: "active",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    revision,
    ...extra,
  };
}

const change = (record: ServiceRecord | undefined, revision: number, sequence: number, registered = false): LiveChange => ({ record, revision, registered, sequence });

describe("merging pages with the stream", () => {
  it("replaces older states, drops removed records, and keeps newer page states", () => {
    const pages = [service("a", 1), service("b", 2), service("c", 9)];
    const changes = new Map<string, LiveChange>([
      ["a", change(service("a", 5, { status: "degraded" }), 5, 1)],
      ["b", change(undefined, 3, 2)],
      // Older than what the page holds: the page read it later.
      ["c", change(service("c", 4, { status: "offline" }), 4, 3)],
    ]);
    const rows = mergeRows(pages, changes, false);
    expect(rows.map((row) => [row.key, row.service.status])).toEqual([
      ["a", "degraded"],
      ["c", "active"],
    ]);
  });

  it("puts new registrations first, and other arrivals only once every page is loaded", () => {
    const changes = new Map<string, LiveChange>([
      ["new-1", change(service("new-1", 10), 10, 1, true)],
      ["new-2", change(service("new-2", 11), 11, 2, true)],
      ["moved-in", change(service("moved-in", 12), 12, 3)],
    ]);
    expect(mergeRows([service("x", 1)], changes, false).map((row) => [row.key, row.fresh])).toEqual([
      ["new-2", true],
      ["new-1", true],
      ["x", false],
    ]);
    expect(mergeRows([service("x", 1)], changes, true).map((row) => row.key)).toEqual(["moved-in", "new-2", "new-1", "x"]);
  });

  it("keeps the node's sorted order, new registrations first, and re-places a record a live change moved", () => {
    // Pages as the node sorted them by name: ties ("Same") in the node's order, which the client must keep.
    const pages = [service("c", 3, { name: "Alpha" }), service("b", 1, { name: "Same" }), service("a", 2, { name: "Same" }), service("d", 4, { name: "Tango" })];
    const changes = new Map<string, LiveChange>([
      // Renamed after the read: it now sorts last.
      ["c", change(service("c", 7, { name: "zulu" }), 7, 1)],
      ["new", change(service("new", 8, { name: "Bravo" }), 8, 2, true)],
    ]);
    const rows = sortRows(mergeRows(pages, changes, false), { key: "name", descending: false });
    expect(rows.map((row) => [row.key, row.fresh])).toEqual([
      ["new", true],
      ["b", false],
      ["a", false],
      ["d", false],
      ["c", false],
    ]);
    // Registration order is the node's order as read, either way (the node reversed it for descending).
    expect(sortRows(mergeRows(pages, new Map(), true), { key: "registered", descending: true }).map((row) => row.key)).toEqual(["c", "b", "a", "d"]);
  });

  it("orders a snapshot (no node order) by the node's comparison, ties by key", () => {
    const rows = mergeRows([service("b", 1, { name: "same" }), service("a", 2, { name: "Same" }), service("c", 3, { name: "alpha" })], new Map(), true);
    expect(sortAll(rows, { key: "name", descending: false }).map((row) => row.key)).toEqual(["c", "a", "b"]);
    expect(sortAll(rows, { key: "name", descending: true }).map((row) => row.key)).toEqual(["a", "b", "c"]);
    expect(sortAll(rows, { key: "registered", descending: true }).map((row) => row.key)).toEqual(["c", "a", "b"]);
  });

  it("compares as the node does: names without regard to ASCII case, text by code point, no provider as empty", () => {
    expect(compareServices(service("x", 1, { name: "beta" }), service("y", 1, { name: "Alpha" }), "name")).toBe(1);
    expect(compareServices(service("x", 1, { name: "beta" }), service("y", 1, { name: "Alpha" }), "name", "desc")).toBe(-1);
    // U+FF21 (a full-width letter) before U+1F600: UTF-8 byte order, not JavaScript's UTF-16 `<`.
    expect(compareServices(service("x", 1, { name: "\uFF21" }), service("y", 1, { name: "😀" }), "name")).toBe(-1);
    expect(compareServices(service("x", 1), service("y", 1, { provider: "a" }), "provider")).toBe(-1);
    expect(compareServices(service("x", 1, { updatedAt: "2026-01-02T00:00:00.000Z" }), service("y", 1), "updated")).toBe(1);
    expect(compareServices(service("x", 1), service("y", 2), "registered")).toBe(0);
  });
});

describe("the generated form", () => {
  const fields = fieldsOf(ServiceRegistrationSchema, new Set(["auth.token"]));

  it("has every field of the registration schema, with its choices", () => {
    const keys = fields.map((field) => field.key);
    expect(keys).toEqual(Object.keys(ServiceRegistrationSchema.shape));
    expect(fields.find((field) => field.key === "visibility")?.options).toEqual(["public", "internal", "private"]);
    const auth = fields.find((field) => field.key === "auth");
    expect(auth?.fields?.map((field) => field.key)).toEqual(["type", "credentialRef", "header"]);
  });

  it("leaves an untouched optional section out, and converts lists, numbers and JSON", () => {
    const values = { ...initialValues(fields), name: "One", capabilities: "llm_chat, embeddings", ttl: "30", metadata: '{"models":["x"]}' };
    const { input, errors } = toInput(fields, values);
    expect(errors).toEqual({});
    expect(input.healthCheck).toBeUndefined();
    expect(input).toMatchObject({ name: "One", capabilities: ["llm_chat", "embeddings"], ttl: 30, metadata: { models: ["x"] }, auth: { type: "none" } });
    expect(ServiceRegistrationSchema.safeParse(input).success).toBe(true);
    expect(toInput(fields, { ...values, metadata: "{nope" }).errors.metadata).toMatch(/valid JSON/);
  });

  it("patches only what changed, with null for a removed optional field", () => {
    const record = service("p", 3, { name: "P", version: "1.0.0", url: "http://127.0.0.1:9/", tags: ["t"] });
    const values = initialValues(fields, record);
    expect(toPatch(fields, values, record as unknown as Record<string, unknown>).input).toEqual({});
    const edited = { ...values, version: "", tags: "t, u" };
    expect(toPatch(fields, edited, record as unknown as Record<string, unknown>).input).toEqual({ version: null, tags: ["t", "u"] });
  });
});

describe("filters from the address", () => {
  it("splits list filters and refuses what the protocol refuses", () => {
    const { filter, errors } = parseFilters(readFilters(new URLSearchParams("tag=a,b&status=offline&capability=Bad Value&q=llama")));
    expect(filter).toEqual({ tag: ["a", "b"], status: "offline", q: "llama" });
    expect(errors.capability).toBeDefined();
  });

  it("reads the sort and asks the node for it, leaving the node's defaults out", () => {
    expect(sortQuery(readSort(new URLSearchParams("sort=name&dir=desc")))).toEqual({ sort: "name", order: "desc" });
    expect(sortQuery(readSort(new URLSearchParams("sort=colour")))).toEqual({});
    expect(sortQuery(readSort(new URLSearchParams("dir=desc")))).toEqual({ order: "desc" });
  });
});

describe("manifests", () => {
  it("turns the seed's vocabulary into registrations tagged with the file", () => {
    const plan = planManifest("services:\n  - id: a\n    endpoint: http://127.0.0.1:9\n    type: llm\n    capabilities: [chat]\n", "dir/my.yaml");
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.services[0]?.input).toMatchObject({ name: "a", url: "http://127.0.0.1:9", type: "service", capabilities: ["llm_chat"], metadata: { kind: "llm", appliedFrom: "my.yaml" } });
  });

  it("names every problem and plans nothing when one entry is wrong", () => {
    const plan = planManifest("services:\n  - id: a\n  - id: a\n  - id: b\n    endpoint: nope\n", "m.yaml");
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    // As the file spells them: the entry's `endpoint`, though the registration calls it `url`.
    expect(plan.problems.map((problem) => problem.path)).toEqual(["services.1.id", "services.2.endpoint"]);
    expect(planManifest(": : :\n\t-", "m.yaml").ok).toBe(false);
  });

  it("says where a YAML syntax error is, in one whole sentence", () => {
    const plan = planManifest("services:\n  - id: a\n   name: b\n", "m.yaml");
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    const message = plan.problems[0]!.message;
    expect(message).toMatch(/^not valid YAML at line 3, column \d+: /);
    expect(message).not.toMatch(/:\s*$/);
  });
});
