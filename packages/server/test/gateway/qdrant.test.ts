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

  it("refuses a caller's payload or filter that uses the connector's own keys (_kai_id, document), before calling Qdrant", async () => {
    const before = fake.requests.length;
    for (const payload of [{ _kai_id: "other" }, { document: "mine" }]) {
      const error = await qdrantConnector.upsertPoints!({ collection: "c", points: [{ id: "ok", vector: [1, 0] }, { id: "p", vector: [1, 2], payload }] }, ctx()).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "validation_failed", status: 400 });
      expect((error as { details?: Array<{ path: string }> }).details?.[0]?.path).toBe(`points.1.payload.${Object.keys(payload)[0]}`);
    }
    for (const filter of [{ _kai_id: "x" }, { document: "text" }] as Array<Record<string, string>>) {
      await expect(qdrantConnector.queryPoints!({ collection: "c", vector: [1, 0], filter }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
      await expect(qdrantConnector.deletePoints!({ collection: "c", filter }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
    }
    expect(fake.requests.length).toBe(before);
  });

  it("reads a point's id back only from an _kai_id it wrote itself, so delete by the returned id works", async () => {
    await qdrantConnector.createCollection!({ name: "ids", dimension: 2, metric: "cosine" }, ctx());
    await qdrantConnector.upsertPoints!({ collection: "ids", points: [{ id: "real", vector: [1, 0], payload: { lang: "en" } }] }, ctx());
    // A point written straight to Qdrant (not through us) whose payload happens to carry _kai_id.
    await fetch(`${fake.url}/collections/ids/points?wait=true`, {
      method: "PUT",
      headers: { "content-type": "application/json", "api-key": "qk" },
      body: JSON.stringify({ points: [{ id: 7, vector: [0, 1], payload: { _kai_id: "real" } }] }),
    });
    const { data } = await qdrantConnector.queryPoints!({ collection: "ids", vector: [1, 1], k: 10 }, ctx());
    expect(data.matches.map((match) => match.id).sort()).toEqual([7, "real"]);
    // Not ours: the stranger's _kai_id stays the caller's payload.
    expect(data.matches.find((match) => match.id === 7)?.payload).toEqual({ _kai_id: "real" });
    expect(data.matches.find((match) => match.id === "real")?.payload).toEqual({ lang: "en" });
    for (const match of data.matches) await qdrantConnector.deletePoints!({ collection: "ids", ids: [match.id] }, ctx());
    expect((await qdrantConnector.queryPoints!({ collection: "ids", vector: [1, 1], k: 10 }, ctx())).data.matches).toEqual([]);
  });

  it("reads Qdrant's {status: {error}} message into the error", async () => {
    const error = await qdrantConnector.queryPoints!({ collection: "missing", vector: [1] }, ctx()).catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toContain("Collection `missing` doesn't exist");
  });
});
