/**
 * @module http/routes/artifacts
 * Artifact storage (issue 17, docs/data/artifacts.md): upload (the raw body, or multipart/form-data with one file),
 * metadata, download with Range and ETag, previews and image thumbnails, list and search, delete, share links and
 * their revocation; the blob store's garbage collection on demand (admin); and `GET /s/{token}`, the public side of a share link (no bearer token: the link's signature is
 * its authentication).
 *
 * The upload route takes its body as a stream: its scope has no body parser that reads (JSON's 1 MiB `bodyLimit`
 * does not apply; `artifacts.maxBytes` does, while the bytes arrive). Downloads are always attachments with
 * `nosniff` and a sandboxing CSP: an uploaded HTML or SVG file must never run as this node's page.
 */
import { z } from "zod";
import multipart from "@fastify/multipart";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
import type { Readable } from "node:stream";
import {
  ArtifactGcRequestSchema,
  ArtifactGcResponseSchema,
  ArtifactIdSchema,
  ArtifactPreviewResponseSchema,
  ArtifactResponseSchema,
  ArtifactShareResponseSchema,
  CreateShareRequestSchema,
  ErrorBodySchema,
  fieldErrorsFromZod,
  ListArtifactsQuerySchema,
  ListArtifactsResponseSchema,
  ShareIdSchema,
  THUMBNAIL_CONTENT_TYPE,
  THUMBNAIL_MAX_SIDE,
  UploadArtifactQuerySchema,
  UploadArtifactResponseSchema,
  type Artifact,
} from "@kai/protocol";
import type { ArtifactService } from "../../artifacts/artifact-service.js";
import { parseRange } from "../../artifacts/byte-range.js";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const ArtifactParamsSchema = z.strictObject({ id: ArtifactIdSchema });
const ShareParamsSchema = z.strictObject({ id: ArtifactIdSchema, shareId: ShareIdSchema });
const TokenParamsSchema = z.strictObject({ token: z.string().min(1).max(512) });
const binary = z.string().describe("the artifact's bytes");

/** Fields a multipart upload may carry besides its file (the same as the raw upload's query). */
const MAX_FIELDS = 4;

/** Stops taking bytes from a refused upload; the answer closes the connection (http/body-guard.ts). */
function stopReading(request: FastifyRequest): void {
  request.raw.unpipe();
  request.raw.pause();
}

/** `filename*` (RFC 6266/8187) carries any name; the plain `filename` an ASCII stand-in for old clients. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const etagOf = (artifact: Artifact) => `"${artifact.sha256}"`;

/** Whether an If-None-Match list names this ETag (weak comparison, as RFC 9110 §13.1.2 asks for it). */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").some((candidate) => {
    const value = candidate.trim();
    return value === "*" || value.replace(/^W\//, "") === etag;
  });
}

/** Sends the artifact's bytes: 304 for a current If-None-Match, 206/416 for a Range, else 200. */
async function sendContent(service: ArtifactService, artifact: Artifact, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const etag = etagOf(artifact);
  const notModified = noneMatch(request.headers["if-none-match"], etag);
  // If-Range: a range only of the version the client has; otherwise the whole (new) content.
  const ifRange = request.headers["if-range"];
  const wanted = parseRange(ifRange === undefined || ifRange === etag ? request.headers.range : undefined, artifact.size);
  if (!notModified && wanted.kind === "unsatisfiable") {
    throw new ApiError("range_not_satisfiable", `the range asked for is outside the artifact (${artifact.size} bytes)`, undefined, { "Content-Range": `bytes */${artifact.size}` });
  }
  reply
    .header("ETag", etag)
    .header("Accept-Ranges", "bytes")
    .header("Cache-Control", "private, max-age=0, must-revalidate")
    .header("X-Content-Type-Options", "nosniff")
    .header("Content-Security-Policy", "default-src 'none'; sandbox")
    .header("Content-Disposition", attachment(artifact.name));
  if (notModified) return reply.status(304).send();
  reply.type(artifact.contentType);
  if (artifact.size === 0) return reply.header("Content-Length", "0").status(200).send("");
  if (wanted.kind === "range") {
    const { start, end } = wanted.range;
    const stream = await service.read(artifact, wanted.range);
    return reply.status(206).header("Content-Range", `bytes ${start}-${end}/${artifact.size}`).header("Content-Length", String(end - start + 1)).send(stream);
  }
  const stream = await service.read(artifact);
  return reply.status(200).header("Content-Length", String(artifact.size)).send(stream);
}

export function artifactRoutes(service: ArtifactService): FastifyPluginAsyncZod {
  return async (app) => {
    // The upload alone, in a scope of its own: its body is a stream (raw or multipart), never parsed whole.
    await app.register(async (plain) => {
      const scope = plain.withTypeProvider<ZodTypeProvider>();
      scope.removeAllContentTypeParsers();
      await scope.register(multipart, { limits: { fileSize: service.limit + 1, files: 1, fields: MAX_FIELDS, fieldSize: 4096, parts: MAX_FIELDS + 1, headerPairs: 32 } });
      scope.addContentTypeParser("*", (_request, _payload, done) => done(null));
      scope.post("/api/artifacts", {
        config: { scopes: ["artifacts:write"], bucket: "write", streamedBody: true },
        schema: {
          tags: ["artifacts"],
          summary: "Upload an artifact",
          description:
            "The body is the file's bytes (any content type), or multipart/form-data with one file part (fields `name` and `tags` before it). " +
            "`name` and `tags` (comma separated) may also come in the query. Streamed to storage and hashed (SHA-256) on the way; " +
            "413 `artifact_too_large` the moment it passes `artifacts.maxBytes`. The content type is sniffed from the bytes. " +
            "201 with a new artifact; 200 with the uploader's existing artifact when the same bytes come again under the same name.",
          security,
          consumes: ["application/octet-stream", "multipart/form-data"],
          querystring: UploadArtifactQuerySchema,
          response: { 200: UploadArtifactResponseSchema, 201: UploadArtifactResponseSchema, 413: ErrorBodySchema, ...errors },
        },
      }, async (request, reply) => {
        const principal = principalOf(request);
        const announced = Number(request.headers["content-length"]);
        if (announced > service.limit + (request.isMultipart() ? 64 * 1024 : 0)) {
          stopReading(request);
          throw new ApiError("artifact_too_large", `the upload is larger than this node accepts (${service.limit} bytes)`);
        }
        let source: Readable;
        let name = request.query.name;
        let tags = request.query.tags;
        let declaredType = request.headers["content-type"];
        if (request.isMultipart()) {
          let file;
          try {
            file = await request.file();
          } catch {
            stopReading(request);
            throw new ApiError("validation_failed", "request body is not well-formed multipart/form-data");
          }
          if (!file) throw new ApiError("validation_failed", "no file in the multipart upload", [{ path: "body.file", message: "required" }]);
          const fields = Object.fromEntries(
            Object.values(file.fields)
              .flat()
              .filter((field): field is Extract<typeof field, { type: "field" }> => field !== undefined && field.type === "field" && typeof field.value === "string")
              .map((field) => [field.fieldname, field.value as string]),
          );
          const parsed = UploadArtifactQuerySchema.safeParse({ ...(fields.name !== undefined ? { name: fields.name } : {}), ...(fields.tags !== undefined ? { tags: fields.tags } : {}) });
          if (!parsed.success) {
            file.file.resume();
            throw new ApiError("validation_failed", "invalid upload fields", fieldErrorsFromZod(parsed.error));
          }
          name = parsed.data.name ?? name ?? (UploadArtifactQuerySchema.shape.name.safeParse(file.filename).data || undefined);
          tags = parsed.data.tags ?? tags;
          declaredType = file.mimetype;
          source = file.file;
        } else {
          source = request.raw;
        }
        try {
          const result = await service.upload(source, { name, tags, declaredType }, principal);
          return reply.status(result.created ? 201 : 200).header("Location", `/api/artifacts/${result.artifact.id}`).send(result);
        } catch (error) {
          if (error instanceof ApiError && error.code === "artifact_too_large") stopReading(request);
          throw error;
        }
      });
    });

    app.get("/api/artifacts", {
      config: { scopes: ["artifacts:read"], bucket: "read" },
      schema: {
        tags: ["artifacts"],
        summary: "The caller's artifacts, newest first (every uploader's for an admin)",
        description: "Filters: `tag`, `type` (`image/png` or `image/*`), `uploader` (admins), `q` (part of the name). Keyset pages: pass `nextCursor` as `cursor`.",
        security,
        querystring: ListArtifactsQuerySchema,
        response: { 200: ListArtifactsResponseSchema, ...errors },
      },
    }, async (request) => service.list(request.query, principalOf(request)));

    app.get("/api/artifacts/:id", {
      config: { scopes: ["artifacts:read"], bucket: "read" },
      schema: { tags: ["artifacts"], summary: "An artifact's metadata", security, params: ArtifactParamsSchema, response: { 200: ArtifactResponseSchema, ...errors } },
    }, async (request) => ({ artifact: await service.get(request.params.id, principalOf(request)) }));

    app.get("/api/artifacts/:id/content", {
      config: { scopes: ["artifacts:read"], bucket: "read" },
      schema: {
        tags: ["artifacts"],
        summary: "Download an artifact",
        description: "The bytes as an attachment. `ETag` is the SHA-256 (`If-None-Match` → 304); one `Range` (`bytes=a-b`, `a-`, `-n`) → 206, outside the file → 416.",
        security,
        params: ArtifactParamsSchema,
        response: { 200: binary, 206: binary, 304: z.null().describe("not modified"), 416: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => sendContent(service, await service.get(request.params.id, principalOf(request)), request, reply));

    app.get("/api/artifacts/:id/preview", {
      config: { scopes: ["artifacts:read"], bucket: "read" },
      schema: {
        tags: ["artifacts"],
        summary: "A preview of an artifact",
        description:
          "Text types (HTML and SVG too): an excerpt of the start (source, never rendered); JSON: re-indented when small enough to parse; " +
          "Markdown: rendered to sanitised HTML (no scripts, handlers, `javascript:` links; remote images only as `data-remote-src`); " +
          "PNG/JPEG/WebP/GIF: the size and the thumbnail's path; PDF: page count and title. A file of these types that cannot be read: " +
          "`kind: \"unavailable\"` with the reason; other types: `kind: \"none\"` with the reason.",
        security,
        params: ArtifactParamsSchema,
        response: { 200: ArtifactPreviewResponseSchema, ...errors },
      },
    }, async (request) => ({ preview: await service.preview(request.params.id, principalOf(request)) }));

    app.get("/api/artifacts/:id/thumbnail", {
      config: { scopes: ["artifacts:read"], bucket: "read" },
      schema: {
        tags: ["artifacts"],
        summary: "An image artifact's thumbnail",
        description:
          `WebP, at most ${THUMBNAIL_MAX_SIDE} px on the longer side, of a PNG, JPEG, WebP or GIF image (its first frame), made on the first request and kept. ` +
          "`ETag` (`If-None-Match` → 304). 422 `preview_unavailable` for another type (SVG included: it is never rendered), a damaged image, or one of too many pixels.",
        security,
        params: ArtifactParamsSchema,
        response: { 200: z.string().describe("the thumbnail (image/webp)"), 304: z.null().describe("not modified"), 422: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const artifact = await service.get(request.params.id, principalOf(request));
      const etag = service.thumbnailTag(artifact);
      // The same caching headers as the content: a private resource, revalidated (cheap: the ETag needs no bytes).
      reply.header("ETag", etag).header("Cache-Control", "private, max-age=0, must-revalidate").header("X-Content-Type-Options", "nosniff").header("Content-Security-Policy", "default-src 'none'; sandbox");
      if (noneMatch(request.headers["if-none-match"], etag)) return reply.status(304).send(null);
      const thumbnail = await service.thumbnail(artifact);
      // Bytes, not the string the schema describes them as (as the content route sends its stream).
      return (reply as FastifyReply).status(200).type(THUMBNAIL_CONTENT_TYPE).header("Content-Length", String(thumbnail.length)).send(thumbnail);
    });

    app.delete("/api/artifacts/:id", {
      config: { scopes: ["artifacts:write"], bucket: "write" },
      schema: {
        tags: ["artifacts"],
        summary: "Delete an artifact",
        description: "Its share links stop working. The stored bytes go with the last artifact that has them.",
        security,
        params: ArtifactParamsSchema,
        response: { 204: z.null().describe("deleted"), ...errors },
      },
    }, async (request, reply) => {
      await service.delete(request.params.id, principalOf(request));
      return reply.status(204).send(null);
    });

    app.post("/api/artifacts/:id/share", {
      config: { scopes: ["artifacts:write"], bucket: "write" },
      schema: {
        tags: ["artifacts"],
        summary: "Make a share link",
        description:
          "A read-only link (`url`) that works without a token until `expiresAt` (`ttlSeconds`: default 1 hour, at most 7 days) or until revoked. " +
          "Signed with the node's Ed25519 key; a link altered, expired or revoked answers 403 `share_link_invalid`.",
        security,
        params: ArtifactParamsSchema,
        body: CreateShareRequestSchema,
        response: { 201: ArtifactShareResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const made = await service.share(request.params.id, principalOf(request), request.body.ttlSeconds);
      const url = `${request.protocol}://${request.host}${made.share.path}`;
      return reply.status(201).send({ share: { ...made.share, url } });
    });

    app.post("/api/artifacts/gc", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["artifacts"],
        summary: "Collect the blob store's garbage now (admin)",
        description:
          "Removes staged bytes of uploads that never completed and stored blobs no artifact names, both only when older than " +
          "`artifacts.gc.graceHours` (the leader also does this every `artifacts.gc.intervalMinutes`). `dryRun`: counts what would " +
          "be removed and removes nothing. Answers when the sweep is done.",
        security,
        body: ArtifactGcRequestSchema,
        response: { 200: ArtifactGcResponseSchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const result = await service.sweeper.run({ dryRun: request.body.dryRun });
      return reply.header("Cache-Control", "no-store").send({ dryRun: request.body.dryRun, graceHours: service.sweeper.graceHours, result });
    });

    app.delete("/api/artifacts/:id/shares/:shareId", {
      config: { scopes: ["artifacts:write"], bucket: "write" },
      schema: { tags: ["artifacts"], summary: "Revoke a share link", security, params: ShareParamsSchema, response: { 204: z.null().describe("revoked"), ...errors } },
    }, async (request, reply) => {
      await service.revokeShare(request.params.id, request.params.shareId, principalOf(request));
      return reply.status(204).send(null);
    });
  };
}

/** `GET /s/{token}`: a share link, public (outside the bearer-protected scope), counted per address in the read bucket. */
export function artifactShareRoutes(service: ArtifactService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/s/:token", {
      // The token is the credential: whoever holds it downloads the file, so its request line shows `/s/[redacted]`.
      config: { bucket: "read", secretParams: ["token"] },
      schema: {
        tags: ["artifacts"],
        summary: "Open a share link (no token)",
        description: "The shared artifact's bytes, with the same Range and ETag handling as the download route. 403 `share_link_invalid` when the link was altered, has expired, was revoked, or its artifact was deleted.",
        params: TokenParamsSchema,
        response: { 200: binary, 206: binary, 304: z.null().describe("not modified"), 403: ErrorBodySchema, 416: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request, reply) => sendContent(service, await service.resolveShare(request.params.token), request, reply));
  };
}
