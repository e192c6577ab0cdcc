/**
 * @module views/artifacts/ArtifactThumbnail
 * An image artifact's thumbnail (PNG, JPEG, WebP, GIF; never SVG, which the node does not render): fetched through
 * the SDK with the session's credentials (an `<img src>` pointing at the API would carry no bearer token from the
 * extension) and shown as a `data:` URL. Cached per artifact and content (React Query, `["artifacts", "thumbnail", …]`);
 * an artifact that gets no thumbnail (422 `preview_unavailable`) shows nothing rather than an error per row.
 */
import { useQuery } from "@tanstack/react-query";
import { THUMBNAIL_CONTENT_TYPE, THUMBNAIL_SOURCE_TYPES, type Artifact } from "@kai/protocol";
import { useClient } from "../../app/session";

export const hasThumbnail = (artifact: Artifact) => (THUMBNAIL_SOURCE_TYPES as readonly string[]).includes(artifact.contentType);

/** Bytes as base64 (a thumbnail is a few KiB: one string of it is fine). */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let start = 0; start < bytes.length; start += 0x8000) binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  return btoa(binary);
}

export function ArtifactThumbnail({ artifact, size = "small" }: { artifact: Artifact; size?: "small" | "large" }) {
  const client = useClient();
  const thumbnail = useQuery({
    queryKey: ["artifacts", "thumbnail", artifact.id, artifact.sha256],
    queryFn: async () => {
      const made = await client.artifacts.thumbnail(artifact.id);
      // Only the type the node makes thumbnails in becomes a data: URL (nothing the answer says about itself).
      return `data:${THUMBNAIL_CONTENT_TYPE};base64,${base64(made.bytes)}`;
    },
    enabled: hasThumbnail(artifact),
    staleTime: Infinity,
    retry: false,
  });
  if (!thumbnail.data) return null;
  const box = size === "small" ? "h-10 w-10" : "max-h-64 max-w-64";
  return <img src={thumbnail.data} alt={`Thumbnail of ${artifact.name}`} className={`${box} rounded border border-slate-200 object-contain dark:border-slate-700`} />;
}
