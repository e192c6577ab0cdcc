// The provider-neutral gateway shapes (vector, workflow, audio, image edit): defaults, and the inputs they
// must refuse before any connector turns them into a provider request.
import { describe, expect, it } from "vitest";
import {
  ImageEditRequestSchema,
  TranscriptionRequestSchema,
  VectorCollectionCreateRequestSchema,
  VectorDeleteRequestSchema,
  VectorQueryRequestSchema,
  VectorUpsertRequestSchema,
  WorkflowRunRequestSchema,
} from "../src/index.js";

describe("vector schemas", () => {
  it("defaults the metric to cosine, k to 10 and vectors to off", () => {
    expect(VectorCollectionCreateRequestSchema.parse({ name: "docs", dimension: 3 })).toEqual({ name: "docs", dimension: 3, metric: "cosine" });
    expect(VectorQueryRequestSchema.parse({ collection: "docs", vector: [1] })).toEqual({ collection: "docs", vector: [1], k: 10, includeVectors: false });
  });

  it("accepts equality and `in` filters, and nothing richer", () => {
    expect(VectorQueryRequestSchema.safeParse({ collection: "c", vector: [1], filter: { a: 1, b: "x", c: true, d: { in: [1, "y"] } } }).success).toBe(true);
    expect(VectorQueryRequestSchema.safeParse({ collection: "c", vector: [1], filter: { a: { gt: 1 } } }).success).toBe(false);
    expect(VectorQueryRequestSchema.safeParse({ collection: "c", vector: [1], filter: { a: { in: [] } } }).success).toBe(false);
  });

  it("refuses a delete with neither ids nor a filter (that would be a collection delete)", () => {
    expect(VectorDeleteRequestSchema.safeParse({ collection: "c" }).success).toBe(false);
    expect(VectorDeleteRequestSchema.safeParse({ collection: "c", filter: {} }).success).toBe(false);
    expect(VectorDeleteRequestSchema.safeParse({ collection: "c", ids: ["a", 1] }).success).toBe(true);
  });

  it("refuses collection names with path characters and points without a vector or with unknown fields", () => {
    expect(VectorCollectionCreateRequestSchema.safeParse({ name: "../x", dimension: 3 }).success).toBe(false);
    expect(VectorUpsertRequestSchema.safeParse({ collection: "c", points: [{ id: "a", vector: [] }] }).success).toBe(false);
    expect(VectorUpsertRequestSchema.safeParse({ collection: "c", points: [{ id: "a", vector: [1], extra: 1 }] }).success).toBe(false);
    expect(VectorUpsertRequestSchema.safeParse({ collection: "c", points: [{ id: -1, vector: [1] }] }).success).toBe(false);
  });
});

describe("workflow schemas", () => {
  it("defaults to a production POST run", () => {
    expect(WorkflowRunRequestSchema.parse({ workflow: "a/b" })).toEqual({ workflow: "a/b", method: "POST", test: false });
  });

  it("refuses dot segments, queries and fragments in the workflow path", () => {
    for (const workflow of ["../x", "a/./b", "a?b", "a#b", ""]) expect(WorkflowRunRequestSchema.safeParse({ workflow }).success, workflow).toBe(false);
  });
});

describe("audio and image-edit schemas", () => {
  it("takes the audio as bytes (a Buffer too) with a default file name, and refuses an empty file", () => {
    expect(TranscriptionRequestSchema.parse({ file: Buffer.from("x"), model: "m" }).filename).toBe("audio.wav");
    expect(TranscriptionRequestSchema.safeParse({ file: new Uint8Array(0), model: "m" }).success).toBe(false);
    expect(TranscriptionRequestSchema.safeParse({ file: "base64?", model: "m" }).success).toBe(false);
    expect(TranscriptionRequestSchema.safeParse({ file: Buffer.from("x"), model: "m", response_format: "mp3" }).success).toBe(false);
  });

  it("requires the source image of an edit", () => {
    expect(ImageEditRequestSchema.safeParse({ prompt: "p" }).success).toBe(false);
    expect(ImageEditRequestSchema.safeParse({ prompt: "p", image: "aGk=", denoising_strength: 0.3 }).success).toBe(true);
  });
});
