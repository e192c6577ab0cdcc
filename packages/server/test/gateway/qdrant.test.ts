// Runs the shared connector contract and the neutral vector scenario for the Qdrant connector against its
// fake, plus Qdrant's wire details: the api-key header, wait=true, id mapping and filter translation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qdrantConnector } from "../../src/gateway/connectors/qdrant/index.js";
import { toQdrantConditions, toQdrantId, uuidV5 } from "../../src/gateway/connectors/qdrant/translate.js";
import { describeConnectorContract } from "./connector-contract.js";
import type { FakeUpstream } from "./fakes/fake-server.js";
import { startQdrantFake } from "./fakes/qdrant-fake.js";
import { describeVectorBehaviour } from "./vector-behaviour.js";

describeConnectorContract("qdrant", {
  connector: qdrantConnector,
  start: async (credential) => (await startQdrantFake({ requireKey: credential })).fake,
  expectedModels: [],
  probe: { path: "/collections", call: (context) => qdrantConnector.listCollections!(context) },
  notFound: { call: (context) => qdrantConnector.queryPoints!({ collection: "missing", vector: [1] }, context), code: "upstream_not_found" },
  checkAuth: (headers, credential) => {
    expect(headers["api-key"]).toBe(credential);
    expect(headers.authorization).toBeUndefined();
  },
});

describeVectorBehaviour("qdrant", qdrantConnector, async () => (await startQdrantFake()).fake);

describe("qdrant wire details", () => {
  let fake: FakeUpstream;
  const ctx = () => ({ target: { baseUrl: fake.url, credential: "qk" } });
  beforeAll(async () => {
    ({ fake } = await startQdrantFake({ requireKey: "qk" }));
    await qdrantConnector.createCollection!({ name: "c", dimension: 2, metric: "dot" }, ctx());
  });
  afterAll(async () => {
    await fake.close();
  });

  it("creates collections with Qdrant's metric names and waits for writes", async () => {
    expect(fake.last("/collections/c")?.body).toEqual({ vectors: { size: 2, distance: "Dot" } });
    await qdrantConnector.upsertPoints!({ collection: "c", points: [{ id: "x", vector: [1, 2], document: "text" }] }, ctx());
    const sent = fake.last("/collections/c/points")!;
    expect(sent.query.get("wait")).toBe("true");
    expect(sent.body).toEqual({ points: [{ id: uuidV5("x"), vector: [1, 2], payload: { document: "text", _kai_id: "x" } }] });
  });

  it("keeps integer and UUID ids as they are, and maps other strings to a stable UUID v5", () => {
    expect(toQdrantId(7)).toEqual({ id: 7, mapped: false });
    expect(toQdrantId("5c56c793-69f3-4fbf-87e6-c4bf54c28c26")).toEqual({ id: "5c56c793-69f3-4fbf-87e6-c4bf54c28c26", mapped: false });
    const mapped = toQdrantId("doc-1");
    expect(mapped.mapped).toBe(true);
    expect(mapped.id).toBe(toQdrantId("doc-1").id);
    expect(mapped.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV5("doc-1")).not.toBe(uuidV5("doc-2"));
  });

  it("translates the neutral filter to must conditions, and id+filter deletes to has_id", async () => {
    expect(toQdrantConditions({ a: 1, b: { in: ["x", "y"] } })).toEqual([{ key: "a", match: { value: 1 } }, { key: "b", match: { any: ["x", "y"] } }]);
    await qdrantConnector.deletePoints!({ collection: "c", ids: ["x"], filter: { lang: "en" } }, ctx());
    expect(fake.last("/collections/c/points/delete")?.body).toEqual({ filter: { must: [{ key: "lang", match: { value: "en" } }, { has_id: [uuidV5("x")] }] } });
  });

  it("reads Qdrant's {status: {error}} message into the error", async () => {
    const error = await qdrantConnector.queryPoints!({ collection: "missing", vector: [1] }, ctx()).catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toContain("Collection `missing` doesn't exist");
  });
});
