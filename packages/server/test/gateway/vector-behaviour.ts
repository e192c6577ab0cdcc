/**
 * @module test/gateway/vector-behaviour
 * One scenario of the neutral vector API, run unchanged against every vector-storage connector and its fake:
 * the proof that a caller can switch databases without changing a request. Provider-specific wire details
 * are checked in each provider's own test file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallContext, Connector } from "../../src/gateway/connector.js";
import { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";
import type { FakeUpstream } from "./fakes/fake-server.js";

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

export function describeVectorBehaviour(name: string, connector: Connector, start: () => Promise<FakeUpstream>): void {
  describe(`neutral vector API: ${name}`, () => {
    let fake: FakeUpstream;
    const ctx = (): CallContext => ({ target: { baseUrl: fake.url } });
    beforeAll(async () => {
      fake = await start();
    });
    afterAll(async () => {
      await fake.close();
    });

    it("creates, lists and refuses to re-create a collection", async () => {
      expect((await connector.createCollection!({ name: "docs", dimension: 3, metric: "cosine" }, ctx())).data.status).toBe("completed");
      await connector.createCollection!({ name: "far", dimension: 2, metric: "euclid" }, ctx());
      const listed = await connector.listCollections!(ctx());
      expect(listed.data.collections.map((collection) => collection.name).sort()).toEqual(["docs", "far"]);
      expect(listed.latencyMs).toBeGreaterThan(0);
      const duplicate = await failure(connector.createCollection!({ name: "docs", dimension: 3 }, ctx()));
      expect(duplicate.code).toBe("upstream_conflict");
      expect(duplicate.status).toBe(409);
      expect(duplicate.retryable).toBe(false);
    });

    it("upserts points with payload and document, then finds the nearest first with cosine similarity", async () => {
      const upserted = await connector.upsertPoints!(
        {
          collection: "docs",
          points: [
            { id: "doc-a", vector: [1, 0, 0], payload: { lang: "en", year: 2024 }, document: "alpha" },
            { id: "doc-b", vector: [0.9, 0.1, 0], payload: { lang: "de", year: 2023 }, document: "beta" },
            { id: "doc-c", vector: [0, 1, 0], payload: { lang: "en", year: 2022 } },
            { id: 42, vector: [0, 0, 1], payload: { lang: "fr", year: 2021 } },
          ],
        },
        ctx(),
      );
      expect(upserted.data).toEqual({ status: "completed", count: 4 });
      const result = await connector.queryPoints!({ collection: "docs", vector: [1, 0, 0], k: 2 }, ctx());
      expect(result.data.matches.map((match) => match.id)).toEqual(["doc-a", "doc-b"]);
      expect(result.data.matches[0]).toMatchObject({ payload: { lang: "en", year: 2024 }, document: "alpha" });
      expect(result.data.matches[0]?.score).toBeCloseTo(1, 6);
      expect(result.data.matches[1]?.score).toBeCloseTo(0.9 / Math.hypot(0.9, 0.1), 6);
      expect(result.data.matches[0]?.vector).toBeUndefined();
    });

    it("filters by equality and by a list of values, and returns vectors on request", async () => {
      const english = await connector.queryPoints!({ collection: "docs", vector: [1, 0, 0], k: 10, filter: { lang: "en" } }, ctx());
      expect(english.data.matches.map((match) => match.id)).toEqual(["doc-a", "doc-c"]);
      const both = await connector.queryPoints!({ collection: "docs", vector: [0, 1, 0], k: 10, filter: { lang: { in: ["en", "de"] }, year: 2022 }, includeVectors: true }, ctx());
      expect(both.data.matches).toHaveLength(1);
      expect(both.data.matches[0]).toMatchObject({ id: "doc-c", vector: [0, 1, 0] });
    });

    it("reports euclid scores as distances, nearest first", async () => {
      await connector.upsertPoints!({ collection: "far", points: [{ id: "p1", vector: [3, 4] }, { id: "p2", vector: [1, 1] }] }, ctx());
      const result = await connector.queryPoints!({ collection: "far", vector: [0, 0], k: 2 }, ctx());
      expect(result.data.matches.map((match) => match.id)).toEqual(["p2", "p1"]);
      expect(result.data.matches[0]?.score).toBeCloseTo(Math.SQRT2, 6);
      expect(result.data.matches[1]?.score).toBeCloseTo(5, 6);
    });

    it("upserting an existing id replaces the point", async () => {
      await connector.upsertPoints!({ collection: "far", points: [{ id: "p1", vector: [0.1, 0] }] }, ctx());
      const result = await connector.queryPoints!({ collection: "far", vector: [0, 0], k: 1 }, ctx());
      expect(result.data.matches[0]?.id).toBe("p1");
    });

    it("deletes points by id and by filter", async () => {
      await connector.deletePoints!({ collection: "docs", ids: ["doc-b"] }, ctx());
      await connector.deletePoints!({ collection: "docs", filter: { lang: "fr" } }, ctx());
      const rest = await connector.queryPoints!({ collection: "docs", vector: [1, 0, 0], k: 10 }, ctx());
      expect(rest.data.matches.map((match) => String(match.id)).sort()).toEqual(["doc-a", "doc-c"]);
    });

    it("maps a missing collection to upstream_not_found (not retryable)", async () => {
      const error = await failure(connector.queryPoints!({ collection: "nope", vector: [1, 0, 0] }, ctx()));
      expect(error.code).toBe("upstream_not_found");
      expect(error.status).toBe(404);
      expect(error.retryable).toBe(false);
    });

    it("maps a vector of the wrong dimension to upstream_bad_request", async () => {
      const error = await failure(connector.upsertPoints!({ collection: "docs", points: [{ id: "bad", vector: [1, 2] }] }, ctx()));
      expect(error.code).toBe("upstream_bad_request");
    });

    it("validates requests before calling the provider", async () => {
      const before = fake.requests.length;
      await expect(connector.deletePoints!({ collection: "docs" }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
      await expect(connector.createCollection!({ name: "a/b", dimension: 3 }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
      expect(fake.requests.length).toBe(before);
    });

    it("deletes a collection, and a second delete is upstream_not_found", async () => {
      await connector.deleteCollection!("far", ctx());
      expect((await connector.listCollections!(ctx())).data.collections.map((collection) => collection.name)).toEqual(["docs"]);
      expect((await failure(connector.deleteCollection!("far", ctx()))).code).toBe("upstream_not_found");
    });
  });
}
