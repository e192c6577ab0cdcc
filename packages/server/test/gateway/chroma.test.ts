// Runs the shared connector contract and the neutral vector scenario for the Chroma connector against its
// fake (Chroma's v2 API), plus Chroma's wire details: the x-chroma-token header, collection-id resolution,
// column-wise bodies, where clauses and distance → score conversion.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromaConnector, createChromaConnector } from "../../src/gateway/connectors/chroma/index.js";
import { scoreOf, toChromaUpsert, toWhere } from "../../src/gateway/connectors/chroma/translate.js";
import { describeConnectorContract } from "./connector-contract.js";
import { CHROMA_BASE, startChromaFake } from "./fakes/chroma-fake.js";
import type { FakeUpstream } from "./fakes/fake-server.js";
import { describeVectorBehaviour } from "./vector-behaviour.js";

describeConnectorContract("chroma", {
  connector: chromaConnector,
  start: async (credential) => (await startChromaFake({ requireKey: credential })).fake,
  expectedModels: [],
  probe: { path: CHROMA_BASE, call: (context) => chromaConnector.listCollections!(context) },
  notFound: { call: (context) => chromaConnector.queryPoints!({ collection: "missing", vector: [1] }, context), code: "upstream_not_found" },
  checkAuth: (headers, credential) => {
    expect(headers["x-chroma-token"]).toBe(credential);
    expect(headers.authorization).toBeUndefined();
  },
});

describeVectorBehaviour("chroma", chromaConnector, async () => (await startChromaFake()).fake);

describe("chroma wire details", () => {
  let fake: FakeUpstream;
  const ctx = () => ({ target: { baseUrl: fake.url, credential: "chroma-token-123456" } });
  beforeAll(async () => {
    ({ fake } = await startChromaFake({ requireKey: "chroma-token-123456" }));
  });
  afterAll(async () => {
    await fake.close();
  });

  it("creates a collection with its space in the 1.x configuration and reports the metric back", async () => {
    await chromaConnector.createCollection!({ name: "ip", dimension: 2, metric: "dot" }, ctx());
    expect(fake.last(CHROMA_BASE)?.body).toEqual({ name: "ip", configuration: { hnsw: { space: "ip" } }, get_or_create: false });
    const listed = await chromaConnector.listCollections!(ctx());
    expect(listed.data.collections).toEqual([{ name: "ip", dimension: null, metric: "dot" }]);
  });

  it("resolves the collection id by name, then writes column arrays to it", async () => {
    await chromaConnector.upsertPoints!({ collection: "ip", points: [{ id: 1, vector: [1, 0], payload: { a: 1 } }, { id: "two", vector: [0, 1], document: "d" }] }, ctx());
    const upsert = fake.requests.find((request) => request.path.endsWith("/upsert"))!;
    expect(upsert.path).toMatch(new RegExp(`^${CHROMA_BASE}/[0-9a-f-]{36}/upsert$`));
    expect(upsert.body).toEqual({ ids: ["1", "two"], embeddings: [[1, 0], [0, 1]], metadatas: [{ a: 1 }, null], documents: [null, "d"] });
    const result = await chromaConnector.queryPoints!({ collection: "ip", vector: [1, 0], k: 1 }, ctx());
    // ip distance is 1 − dot, so the score is the dot product again.
    expect(result.data.matches).toEqual([{ id: "1", score: 1, payload: { a: 1 } }]);
  });

  it("sends no metadatas or documents columns when no point has them", () => {
    expect(toChromaUpsert([{ id: "a", vector: [1], payload: {} }])).toEqual({ ids: ["a"], embeddings: [[1]] });
  });

  it("builds where clauses: one condition bare, several under $and", () => {
    expect(toWhere({ a: 1 })).toEqual({ a: { $eq: 1 } });
    expect(toWhere({ a: 1, b: { in: [true] } })).toEqual({ $and: [{ a: { $eq: 1 } }, { b: { $in: [true] } }] });
    expect(toWhere({})).toBeUndefined();
  });

  it("converts distances: cosine and ip back to similarity, squared l2 to the distance", () => {
    expect(scoreOf(0.25, "cosine")).toBe(0.75);
    expect(scoreOf(-1, "dot")).toBe(2);
    expect(scoreOf(25, "euclid")).toBe(5);
  });

  it("addresses another tenant and database when configured", async () => {
    const other = createChromaConnector({ id: "chroma-team", displayName: "Chroma (team)", tenant: "team", database: "prod" });
    await other.listCollections!(ctx()).catch(() => undefined);
    expect(fake.requests.at(-1)?.path).toBe("/api/v2/tenants/team/databases/prod/collections");
  });

  it("reads Chroma's {error, message} body into the error", async () => {
    const error = await chromaConnector.deleteCollection!("missing", ctx()).catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toContain("NotFoundError: Collection [missing] does not exists");
  });
});
