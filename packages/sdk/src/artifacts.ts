/**
 * @module artifacts
 * `client.artifacts`: artifact storage (issue 17, docs/data/artifacts.md). `upload` sends bytes, a Blob or a stream
 * as the raw body (streamed: the server hashes and stores it as it arrives); `download` gives the live response
 * body (a byte range when asked); `preview` what can be shown of it, `thumbnail` an image's thumbnail; `list`, `get`, `delete`; `share` makes a signed link that works without a token,
 * `revokeShare` kills it early. Scopes: `artifacts:read` to read, `artifacts:write` to upload, delete and share.
 * `gc` (admin) runs the blob store's garbage collection now, or counts what it would remove (`dryRun`).
 */
import {
  ArtifactGcResponseSchema,
  ArtifactPreviewResponseSchema,
  ArtifactResponseSchema,
  ArtifactShareResponseSchema,
  ListArtifactsResponseSchema,
  UploadArtifactResponseSchema,
  type Artifact,
  type ArtifactGcResponse,
  type ArtifactPreview,
  type ArtifactShare,
  type ListArtifactsResponse,
  type UploadArtifactResponse,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

const artifactPath = (id: string) => `/api/artifacts/${encodeURIComponent(id)}`;
/** An upload or download takes as long as its bytes do: the client's short default would cut large files. */
const TRANSFER_TIMEOUT_MS = 3_600_000;

export interface UploadOptions {
  name?: string;
  tags?: string[];
  /** What the bytes are, as the client believes; the server sniffs and believes this only for text. */
  contentType?: string;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Inclusive byte range (`end` absent: to the end of the file). */
  range?: { start: number; end?: number };
  signal?: AbortSignal;
}

export interface ArtifactDownload {
  /** 200, or 206 for a range. */
  status: number;
  /** The bytes, read as they arrive. */
  body: ReadableStream<Uint8Array>;
  contentType: string;
  /** The length of this answer (of the range, for a 206). */
  length: number;
  /** The SHA-256 the server stores the bytes under (its ETag). */
  sha256: string;
}

/** An image artifact's thumbnail. */
export interface ArtifactThumbnail {
  /** WebP, at most 256 px on the longer side. */
  bytes: Uint8Array;
  contentType: string;
  /** Changes with the image's bytes (send it as If-None-Match to revalidate a kept copy). */
  etag: string;
}

export interface ArtifactsClient {
  upload(data: Uint8Array | Blob | ReadableStream<Uint8Array>, options?: UploadOptions): Promise<UploadArtifactResponse>;
  download(id: string, options?: DownloadOptions): Promise<ArtifactDownload>;
  get(id: string): Promise<Artifact>;
  /**
   * Text and JSON: an excerpt of the start; Markdown: sanitised HTML; images: size and thumbnail path; PDF: page count
   * and title; a file that cannot be read: `kind: "unavailable"`; other types: `kind: "none"` (both with the reason).
   */
  preview(id: string): Promise<ArtifactPreview>;
  /** The thumbnail of a PNG, JPEG, WebP or GIF image (422 `preview_unavailable` for anything else). */
  thumbnail(id: string, options?: { signal?: AbortSignal }): Promise<ArtifactThumbnail>;
  list(query?: { tag?: string; type?: string; uploader?: string; q?: string; limit?: number; cursor?: string }): Promise<ListArtifactsResponse>;
  delete(id: string): Promise<void>;
  /** `ttlSeconds`: default 1 hour, at most 7 days. */
  share(id: string, ttlSeconds?: number): Promise<ArtifactShare>;
  revokeShare(id: string, shareId: string): Promise<void>;
  /**
   * (admin) The blob store's garbage collection now: staged uploads and blobs no artifact names, older than the node's
   * grace, are removed (`dryRun`: only counted). Resolves when the sweep is done.
   */
  gc(options?: { dryRun?: boolean }): Promise<ArtifactGcResponse>;
}

export function createArtifactsClient(http: HttpTransport): ArtifactsClient {
  return {
    upload: async (data, options = {}) => {
      const query: Record<string, string> = {};
      if (options.name !== undefined) query.name = options.name;
      if (options.tags !== undefined && options.tags.length > 0) query.tags = options.tags.join(",");
      return (
        await http.request("POST", "/api/artifacts", {
          query,
          rawBody: { data, contentType: options.contentType ?? "application/octet-stream" },
          schema: UploadArtifactResponseSchema,
          timeoutMs: TRANSFER_TIMEOUT_MS,
          ...(options.signal ? { signal: options.signal } : {}),
        })
      ).data;
    },
    download: async (id, options = {}) => {
      const headers: Record<string, string> = {};
      if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ""}`;
      const response = await http.stream("GET", `${artifactPath(id)}/content`, { headers, accept: "*/*", timeoutMs: TRANSFER_TIMEOUT_MS, ...(options.signal ? { signal: options.signal } : {}) });
      if (!response.body) throw new Error(`GET ${artifactPath(id)}/content: the answer has no body`);
      return {
        status: response.status,
        body: response.body,
        contentType: response.headers.get("content-type") ?? "application/octet-stream",
        length: Number(response.headers.get("content-length") ?? 0),
        sha256: (response.headers.get("etag") ?? "").replace(/"/g, ""),
      };
    },
    get: async (id) => (await http.request("GET", artifactPath(id), { schema: ArtifactResponseSchema })).data.artifact,
    preview: async (id) => (await http.request("GET", `${artifactPath(id)}/preview`, { schema: ArtifactPreviewResponseSchema })).data.preview,
    thumbnail: async (id, options = {}) => {
      const response = await http.stream("GET", `${artifactPath(id)}/thumbnail`, { accept: "image/*", ...(options.signal ? { signal: options.signal } : {}) });
      return {
        bytes: new Uint8Array(await response.arrayBuffer()),
        contentType: response.headers.get("content-type") ?? "image/webp",
        etag: response.headers.get("etag") ?? "",
      };
    },
    list: async (query = {}) => (await http.request("GET", "/api/artifacts", { query, schema: ListArtifactsResponseSchema })).data,
    delete: async (id) => {
      await http.request("DELETE", artifactPath(id));
    },
    share: async (id, ttlSeconds) =>
      (await http.request("POST", `${artifactPath(id)}/share`, { body: ttlSeconds === undefined ? {} : { ttlSeconds }, schema: ArtifactShareResponseSchema })).data.share,
    revokeShare: async (id, shareId) => {
      await http.request("DELETE", `${artifactPath(id)}/shares/${encodeURIComponent(shareId)}`);
    },
    // A sweep lists the whole blob store: it may take longer than the client's default timeout.
    gc: async (options = {}) =>
      (await http.request("POST", "/api/artifacts/gc", { body: { dryRun: options.dryRun === true }, schema: ArtifactGcResponseSchema, timeoutMs: TRANSFER_TIMEOUT_MS })).data,
  };
}
