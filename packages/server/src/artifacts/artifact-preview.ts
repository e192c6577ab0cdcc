/**
 * @module artifacts/artifact-preview
 * A preview of an artifact (docs/data/artifacts.md "Previews"), read from the start of its bytes and bounded: text
 * types an excerpt (cut at a character boundary, never rendered: HTML and SVG stay source), JSON re-indented when the
 * whole document is small enough to parse here, Markdown rendered and sanitised (previews/markdown-preview.ts), PNG,
 * JPEG, WebP and GIF images their size and a thumbnail's path (the thumbnail itself: previews/image-thumbnail.ts,
 * made on request), PDF its page count and title (previews/pdf-preview.ts). A type without previews says so (`none`);
 * a file of a previewed type that cannot be read says why (`unavailable`), never as the node's fault.
 */
import type { Readable } from "node:stream";
import { parseJson, THUMBNAIL_SOURCE_TYPES, type Artifact, type ArtifactPreview } from "@kai/protocol";
import { imageFacts, ImageRefused, MAX_IMAGE_BYTES, pixelLimitReason } from "./previews/image-thumbnail.js";
// The Markdown and PDF parsers (sanitize-html, pdf-lib: ~300 ms of module loading) load on the first preview of
// their kind, not with the node: most nodes never render one, and every start (and test) would pay for them.
const loadMarkdown = () => import("./previews/markdown-preview.js");
const loadPdf = () => import("./previews/pdf-preview.js");

/** Characters of an excerpt at most. */
export const EXCERPT_CHARS = 4000;
/** JSON documents up to this size are parsed whole and re-indented. */
const JSON_PARSE_BYTES = 256 * 1024;
/** Bytes read for a text excerpt: enough for EXCERPT_CHARS characters of up to 4 bytes. */
const TEXT_READ_BYTES = EXCERPT_CHARS * 4;
/** Markdown rendered at most (the rest is cut, and the preview says so). */
export const MARKDOWN_BYTES = 256 * 1024;
/** PDFs up to this size are parsed for their page count (pdf-lib reads the whole document). */
export const PDF_PARSE_BYTES = 16 * 1024 * 1024;
/** An image's header is looked for in this much of its start first (the whole file when that is not enough). */
const IMAGE_HEAD_BYTES = 256 * 1024;

const TEXT_LIKE = new Set(["application/xml", "application/yaml", "application/javascript", "application/x-ndjson", "image/svg+xml"]);
const MARKDOWN_TYPES = new Set(["text/markdown", "text/x-markdown"]);
const MARKDOWN_NAME = /\.(md|markdown)$/i;

type Kind = "text" | "json" | "markdown" | "image" | "pdf";

export function previewKindOf(contentType: string, name = ""): Kind | null {
  if (contentType === "application/json") return "json";
  if (MARKDOWN_TYPES.has(contentType) || (contentType === "text/plain" && MARKDOWN_NAME.test(name))) return "markdown";
  if ((THUMBNAIL_SOURCE_TYPES as readonly string[]).includes(contentType)) return "image";
  if (contentType === "application/pdf") return "pdf";
  if (contentType.startsWith("text/") || TEXT_LIKE.has(contentType)) return "text";
  return null;
}

/** Reads the artifact's first `length` bytes. */
export type ReadRange = (range: { start: number; end: number }) => Promise<Readable>;

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const readHead = async (read: ReadRange, length: number) => readAll(await read({ start: 0, end: length - 1 }));

/** The text of `bytes` cut to `limit` characters, without a partial character at the end. */
function excerptOf(bytes: Buffer, limit = EXCERPT_CHARS): { excerpt: string; cut: boolean } {
  // A stream decoder keeps a partial character at the end back instead of turning it into U+FFFD.
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes, { stream: true });
  const characters = Array.from(text);
  return characters.length > limit ? { excerpt: characters.slice(0, limit).join(""), cut: true } : { excerpt: text, cut: false };
}

const unavailable = (artifact: Artifact, reason: string): ArtifactPreview => ({ kind: "unavailable", contentType: artifact.contentType, reason });

/** The preview of `artifact`, reading at most the bytes its kind needs (bounded for every kind). */
export async function previewOf(artifact: Artifact, read: ReadRange): Promise<ArtifactPreview> {
  const kind = previewKindOf(artifact.contentType, artifact.name);
  if (kind === null) {
    return {
      kind: "none",
      contentType: artifact.contentType,
      reason: `no preview for ${artifact.contentType}: previews exist for text, JSON, Markdown, PNG/JPEG/WebP/GIF images and PDF (download it to see it)`,
    };
  }
  switch (kind) {
    case "markdown":
      return markdownPreview(artifact, read);
    case "image":
      return imagePreview(artifact, read).catch((error: unknown) => {
        if (error instanceof ImageRefused) return unavailable(artifact, error.message);
        throw error;
      });
    case "pdf":
      return pdfPreview(artifact, read);
    default:
      return textPreview(artifact, kind, read);
  }
}

async function textPreview(artifact: Artifact, kind: "text" | "json", read: ReadRange): Promise<ArtifactPreview> {
  if (artifact.size === 0) return kind === "json" ? { kind, excerpt: "", truncated: false, valid: false } : { kind, contentType: artifact.contentType, excerpt: "", truncated: false };
  if (kind === "json" && artifact.size <= JSON_PARSE_BYTES) {
    const bytes = await readHead(read, artifact.size);
    const parsed = parseJson(bytes.toString("utf8"));
    const { excerpt, cut } = excerptOf(Buffer.from(parsed.ok ? JSON.stringify(parsed.value, null, 2) : bytes.toString("utf8")));
    return { kind, excerpt, truncated: cut, valid: parsed.ok };
  }
  const wanted = Math.min(artifact.size, TEXT_READ_BYTES);
  const { excerpt, cut } = excerptOf(await readHead(read, wanted));
  const truncated = cut || wanted < artifact.size;
  return kind === "json" ? { kind, excerpt, truncated, valid: null } : { kind, contentType: artifact.contentType, excerpt, truncated };
}

async function markdownPreview(artifact: Artifact, read: ReadRange): Promise<ArtifactPreview> {
  const wanted = Math.min(artifact.size, MARKDOWN_BYTES);
  const source = wanted === 0 ? "" : excerptOf(await readHead(read, wanted), Number.MAX_SAFE_INTEGER).excerpt;
  const { renderMarkdown } = await loadMarkdown();
  const { html, remoteImages } = renderMarkdown(source);
  return { kind: "markdown", contentType: artifact.contentType, html, truncated: wanted < artifact.size, remoteImages };
}

async function imagePreview(artifact: Artifact, read: ReadRange): Promise<ArtifactPreview> {
  if (artifact.size === 0) return unavailable(artifact, "the file is empty");
  let facts = await imageFacts(await readHead(read, Math.min(artifact.size, IMAGE_HEAD_BYTES)));
  // Some files keep their header late (a JPEG with a large EXIF block first): then the whole file, if it may be read.
  if (!facts && artifact.size > IMAGE_HEAD_BYTES && artifact.size <= MAX_IMAGE_BYTES) facts = await imageFacts(await readHead(read, artifact.size));
  if (!facts) return unavailable(artifact, `not a readable ${artifact.contentType} image${artifact.size > MAX_IMAGE_BYTES ? ` within its first ${IMAGE_HEAD_BYTES} bytes` : ""}`);
  if (artifact.size > MAX_IMAGE_BYTES) return unavailable(artifact, `the image is larger than the ${MAX_IMAGE_BYTES} bytes a thumbnail is made from (${facts.width} × ${facts.height} pixels)`);
  const tooLarge = pixelLimitReason(facts);
  if (tooLarge) return unavailable(artifact, tooLarge);
  return { kind: "image", contentType: artifact.contentType, width: facts.width, height: facts.height, thumbnail: `/api/artifacts/${artifact.id}/thumbnail` };
}

async function pdfPreview(artifact: Artifact, read: ReadRange): Promise<ArtifactPreview> {
  if (artifact.size > PDF_PARSE_BYTES) return unavailable(artifact, `the PDF is larger than the ${PDF_PARSE_BYTES} bytes read for a page count`);
  if (artifact.size === 0) return unavailable(artifact, "the file is empty");
  const { pdfFacts } = await loadPdf();
  const facts = await pdfFacts(await readHead(read, artifact.size));
  return facts.ok ? { kind: "pdf", pages: facts.pages, title: facts.title, encrypted: facts.encrypted } : unavailable(artifact, facts.reason);
}
