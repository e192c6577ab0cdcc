/**
 * @module schemas/artifact-gc
 * The blob store's garbage collection (docs/data/artifacts.md "Garbage collection"): what a sweep removed or, as a dry
 * run, would remove. Run by the leader as a singleton job (`artifacts.gc`), and by an admin on demand
 * (`POST /api/artifacts/gc`, `kai artifact gc`).
 */
import { z } from "zod";

export const ArtifactGcRequestSchema = z.strictObject({
  /** Count what would be removed, remove nothing. */
  dryRun: z.boolean().default(false),
});
export type ArtifactGcRequest = z.input<typeof ArtifactGcRequestSchema>;

/** What one sweep did (or, with `dryRun`, would do). */
export const ArtifactGcResultSchema = z.object({
  /** Staged uploads (their process died before commit) older than the grace, removed. */
  stagedRemoved: z.int().min(0),
  /** Committed blobs no artifact names (nor the thumbnail of a named blob) older than the grace, removed. */
  orphansRemoved: z.int().min(0),
  /** Bytes of both, as stored. */
  bytesFreed: z.int().min(0),
  /** Committed blobs looked at and kept: in use, or younger than the grace. */
  kept: z.int().min(0),
});
export type ArtifactGcResult = z.infer<typeof ArtifactGcResultSchema>;

export const ArtifactGcResponseSchema = z.object({
  dryRun: z.boolean(),
  /** Hours within which nothing is removed (`artifacts.gc.graceHours`). */
  graceHours: z.number(),
  result: ArtifactGcResultSchema,
});
export type ArtifactGcResponse = z.infer<typeof ArtifactGcResponseSchema>;
