/**
 * @module artifacts
 * Artifact storage (issue 17): files uploaded to the node, addressed by the SHA-256 of their raw bytes. Identical bytes
 * are stored once (the blob is shared by every artifact that has them and reference counted); the metadata says what
 * the node found, not what the client claimed (the content type is sniffed from the bytes). Share links are signed,
 * expiring, revocable read-only URLs that work without a token.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** `art_` + 26 characters (time-ordered, so ids sort by creation). */
export const ArtifactIdSchema = z.string().regex(/^art_[0-9A-Za-z]{10,64}$/, "must be an artifact id (art_…)");
/** Lower-case hex SHA-256 of the raw bytes (the blob's address). */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex SHA-256");

/** A file name as shown and offered on download: no path separators, no control characters. */
export const ArtifactNameSchema = z
  .string()
  .min(1)
  .max(255)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^/\\\u0000-\u001f\u007f]+$/, "must be a file name without slashes or control characters")
  .refine((name) => name !== "." && name !== "..", "must be a file name");

export const ArtifactTagSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, "must be letters, digits, _ . : - (at most 64), starting with a letter or digit");
export const ArtifactTagsSchema = z.array(ArtifactTagSchema).max(32);

/** A MIME type as `type/subtype` (no parameters). */
export const ContentTypeSchema = z.string().max(127).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, "must be a MIME type (type/subtype)");

export const ArtifactSchema = z.object({
  id: ArtifactIdSchema,
  name: ArtifactNameSchema,
  /** Sniffed from the bytes; what the client declared is used only for text types the bytes cannot tell apart. */
  contentType: ContentTypeSchema,
  size: z.number().int().nonnegative(),
  /** The digest algorithm is part of the address (multihash-style), so another one can be added later. */
  sha256: Sha256HexSchema,
  /** The token owner that uploaded it. */
  uploader: z.string(),
  tags: ArtifactTagsSchema,
  createdAt: TimestampSchema,
  /** Whether the blob is encrypted at rest. */
  encrypted: z.boolean(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** Tags as one query/form value: comma separated. */
const TagListSchema = z
  .string()
  .max(2200)
  .transform((value) => value.split(",").map((tag) => tag.trim()).filter((tag) => tag !== ""))
  .pipe(ArtifactTagsSchema);

/** `POST /api/artifacts` with a raw body: the metadata comes in the query (multipart: in fields of the same names). */
export const UploadArtifactQuerySchema = z.strictObject({
  name: ArtifactNameSchema.optional(),
  tags: TagListSchema.optional(),
});
export type UploadArtifactQuery = z.output<typeof UploadArtifactQuerySchema>;

export const UploadArtifactResponseSchema = z.object({
  artifact: ArtifactSchema,
  /** False: the uploader already had an artifact with these bytes and this name; it is returned as it was. */
  created: z.boolean(),
  /** True when the bytes were already stored (for any artifact): nothing new was written. */
  deduplicated: z.boolean(),
});
export type UploadArtifactResponse = z.infer<typeof UploadArtifactResponseSchema>;

export const ArtifactResponseSchema = z.object({ artifact: ArtifactSchema });

export const ListArtifactsQuerySchema = z.strictObject({
  /** Artifacts carrying this tag. */
  tag: ArtifactTagSchema.optional(),
  /** An exact MIME type (`image/png`) or a type with a wildcard subtype (`image/*`). */
  type: z.string().max(127).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/, "must be type/subtype or type/*").optional(),
  /** Only this uploader's (an admin's filter; others see their own artifacts only). */
  uploader: z.string().min(1).max(256).optional(),
  /** A substring of the name, case-insensitive. */
  q: z.string().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});
export type ListArtifactsQuery = z.output<typeof ListArtifactsQuerySchema>;

export const ListArtifactsResponseSchema = z.object({ artifacts: z.array(ArtifactSchema), nextCursor: z.string().nullable() });
export type ListArtifactsResponse = z.infer<typeof ListArtifactsResponseSchema>;

/** Share links live one hour unless asked otherwise, and never more than seven days (S3's presigned-URL cap). */
export const SHARE_TTL_DEFAULT_SECONDS = 3600;
export const SHARE_TTL_MAX_SECONDS = 7 * 24 * 3600;

export const CreateShareRequestSchema = z.strictObject({
  ttlSeconds: z.number().int().min(1).max(SHARE_TTL_MAX_SECONDS).default(SHARE_TTL_DEFAULT_SECONDS),
});
export type CreateShareRequest = z.input<typeof CreateShareRequestSchema>;

export const ShareIdSchema = z.string().regex(/^shr_[0-9A-Za-z]{10,64}$/, "must be a share id (shr_…)");

export const ArtifactShareSchema = z.object({
  id: ShareIdSchema,
  artifactId: ArtifactIdSchema,
  /** The path of the link on this node (`/s/<token>`); `url` adds the node's public address when it is known. */
  path: z.string(),
  url: z.string(),
  expiresAt: TimestampSchema,
  createdAt: TimestampSchema,
  revoked: z.boolean(),
});
export type ArtifactShare = z.infer<typeof ArtifactShareSchema>;

export const ArtifactShareResponseSchema = z.object({ share: ArtifactShareSchema });

/** Image formats that get a thumbnail (`GET /api/artifacts/{id}/thumbnail`); SVG is not one: it stays text, never run. */
export const THUMBNAIL_SOURCE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;
/** A thumbnail fits this many pixels on its longer side (never enlarged). */
export const THUMBNAIL_MAX_SIDE = 256;
/** The type thumbnails are served as. */
export const THUMBNAIL_CONTENT_TYPE = "image/webp";

/**
 * `GET /api/artifacts/{id}/preview`: what can be shown of an artifact without downloading it. Text (CSV, code, HTML,
 * SVG: as text, never rendered) and JSON get an excerpt of their start; Markdown is rendered and sanitised (the HTML
 * keeps no script, event handler, `javascript:` URL or remote image source); PNG/JPEG/WebP/GIF images get their size
 * and the path of a thumbnail; PDF its page count and title. A type without previews says so (`kind: "none"`), and a
 * file of a previewed type that cannot be read (a broken PDF, an image of too many pixels) says why
 * (`kind: "unavailable"`): never an empty success.
 */
export const ArtifactPreviewSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("text"),
    contentType: ContentTypeSchema,
    /** The start of the text, cut at a character boundary. */
    excerpt: z.string(),
    /** The excerpt is not the whole text. */
    truncated: z.boolean(),
  }),
  z.object({
    kind: z.literal("json"),
    /** Re-indented when the whole document is small enough to parse; else the start of it as sent. */
    excerpt: z.string(),
    truncated: z.boolean(),
    /** Whether the whole document parsed (null: too large to check here). */
    valid: z.boolean().nullable(),
  }),
  z.object({
    kind: z.literal("markdown"),
    contentType: ContentTypeSchema,
    /**
     * The rendered document, sanitised by an allow-list: no scripts, styles, frames, forms or event handlers; links
     * only http(s)/mailto/fragment; images only `data:` inline. A remote image keeps its address in
     * `data-remote-src` (no `src`), so nothing is fetched unless a viewer chooses to load remote images.
     */
    html: z.string(),
    /** Only the start of the file was rendered. */
    truncated: z.boolean(),
    /** How many images point at remote addresses (shown only on the viewer's request). */
    remoteImages: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal("image"),
    contentType: ContentTypeSchema,
    /** The image's own size in pixels. */
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Where its thumbnail is (`/api/artifacts/{id}/thumbnail`: WebP, at most 256 px on the longer side). */
    thumbnail: z.string(),
  }),
  z.object({
    kind: z.literal("pdf"),
    pages: z.number().int().nonnegative(),
    /** The document's title from its metadata, if it has one. */
    title: z.string().nullable(),
    /** Encrypted PDFs are counted but not opened. */
    encrypted: z.boolean(),
  }),
  z.object({ kind: z.literal("unavailable"), contentType: ContentTypeSchema, reason: z.string() }),
  z.object({ kind: z.literal("none"), contentType: ContentTypeSchema, reason: z.string() }),
]);
export type ArtifactPreview = z.infer<typeof ArtifactPreviewSchema>;
export const ArtifactPreviewResponseSchema = z.object({ preview: ArtifactPreviewSchema });
