/**
 * @module step-artifacts
 * Files an agent returns from a task step (docs/agents/tasks.md "Artifacts from steps"): an object output's
 * `artifacts` member lists them, each in kAI's form `{name, contentType?, base64}` or as an A2A FilePart with inline
 * bytes `{kind: "file", file: {bytes, name?, mimeType?}}`. kCore stores each as an artifact (docs/data/artifacts.md)
 * and puts a reference (StepArtifactRefSchema) in its place, so the stored task, its events and the task API carry
 * artifact ids, never the bytes.
 */
import { z } from "zod";
import { ArtifactIdSchema, ArtifactNameSchema, ContentTypeSchema, Sha256HexSchema } from "./artifacts.js";

/** Standard base64 (RFC 4648 §4, padded or not): what both forms carry. */
const Base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

/** kAI's form of a file in a step's output. */
export const StepArtifactFileSchema = z.strictObject({
  name: ArtifactNameSchema,
  /** A hint: the node sniffs the bytes (believed only for text types the bytes cannot tell apart). */
  contentType: ContentTypeSchema.optional(),
  base64: Base64Schema,
});

/** A2A's FilePart with inline bytes (a FilePart with only a `uri` is left in the output as it is). */
export const A2aInlineFilePartSchema = z.looseObject({
  kind: z.literal("file"),
  file: z.looseObject({ bytes: Base64Schema, name: ArtifactNameSchema.optional(), mimeType: ContentTypeSchema.optional() }),
});

/** One entry of a step output's `artifacts` that the node stores. */
export const StepArtifactSchema = z.union([StepArtifactFileSchema, A2aInlineFilePartSchema]);
export type StepArtifact = z.infer<typeof StepArtifactSchema>;

/** What replaces a stored file in the step's output. */
export const StepArtifactRefSchema = z.object({
  artifactId: ArtifactIdSchema,
  name: ArtifactNameSchema,
  contentType: ContentTypeSchema,
  size: z.number().int().nonnegative(),
  sha256: Sha256HexSchema,
});
export type StepArtifactRef = z.infer<typeof StepArtifactRefSchema>;
