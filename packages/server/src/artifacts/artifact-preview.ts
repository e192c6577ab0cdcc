/**
 * @module artifacts/artifact-preview
 * A preview of an artifact from the start of its bytes: text types an excerpt (cut at a character boundary, never
 * rendered: Markdown and HTML stay source, so nothing from an upload is interpreted by the node or a viewer that
 * trusts it), JSON re-indented when the whole document is small enough to parse here. Other types answer plainly
 * that they have no preview and why (thumbnails, rendered Markdown and PDF page counts are not built).
 */
import type { Readable } from "node:stream";
import { parseJson, type Artifact, type ArtifactPreview } from "@kai/protocol";

/** Characters of an excerpt at most. */
export const EXCERPT_CHARS = 4000;
/** JSON documents up to this size are parsed whole and re-indented. */
const JSON_PARSE_BYTES = 256 * 1024;
/** Bytes read for a text excerpt: enough for EXCERPT_CHARS characters of up to 4 bytes. */
const TEXT_READ_BYTES = EXCERPT_CHARS * 4;

const TEXT_LIKE = new Set(["application/xml", "application/yaml", "application/javascript", "application/x-ndjson", "image/svg+xml"]);

export function previewKindOf(contentType: string): "text" | "json" | null {
  if (contentType === "application/json") return "json";
  if (contentType.startsWith("text/") || TEXT_LIKE.has(contentType)) return "text";
  return null;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The text of `bytes` cut to `EXCERPT_CHARS` characters, without a partial character at the end. */
function excerptOf(bytes: Buffer): { excerpt: string; cut: boolean } {
  // A stream decoder keeps a partial character at the end back instead of turning it into U+FFFD.
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes, { stream: true });
  const characters = Array.from(text);
  return characters.length > EXCERPT_CHARS ? { excerpt: characters.slice(0, EXCERPT_CHARS).join(""), cut: true } : { excerpt: text, cut: false };
}

/** The preview of `artifact`, reading at most its first `TEXT_READ_BYTES` (or `JSON_PARSE_BYTES` for JSON). */
export async function previewOf(artifact: Artifact, read: (range: { start: number; end: number }) => Promise<Readable>): Promise<ArtifactPreview> {
  const kind = previewKindOf(artifact.contentType);
  if (kind === null) {
    return { kind: "none", contentType: artifact.contentType, reason: `no preview for ${artifact.contentType}: previews exist for text and JSON only (download it to see it)` };
  }
  if (artifact.size === 0) return kind === "json" ? { kind, excerpt: "", truncated: false, valid: false } : { kind, contentType: artifact.contentType, excerpt: "", truncated: false };
  if (kind === "json" && artifact.size <= JSON_PARSE_BYTES) {
    const bytes = await readAll(await read({ start: 0, end: artifact.size - 1 }));
    const parsed = parseJson(bytes.toString("utf8"));
    const { excerpt, cut } = excerptOf(Buffer.from(parsed.ok ? JSON.stringify(parsed.value, null, 2) : bytes.toString("utf8")));
    return { kind, excerpt, truncated: cut, valid: parsed.ok };
  }
  const wanted = Math.min(artifact.size, TEXT_READ_BYTES);
  const { excerpt, cut } = excerptOf(await readAll(await read({ start: 0, end: wanted - 1 })));
  const truncated = cut || wanted < artifact.size;
  return kind === "json" ? { kind, excerpt, truncated, valid: null } : { kind, contentType: artifact.contentType, excerpt, truncated };
}
