/**
 * @module views/artifacts/ArtifactPreviewView
 * What the node can show of one artifact (`GET /api/artifacts/{id}/preview`): a text or JSON excerpt as text, Markdown
 * in a sandboxed frame (MarkdownFrame.tsx), an image's thumbnail and size, a PDF's page count and title; a type
 * without previews, or a file that cannot be read, with the node's reason.
 */
import { useQuery } from "@tanstack/react-query";
import type { Artifact, ArtifactPreview } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { ArtifactThumbnail } from "./ArtifactThumbnail";
import { MarkdownFrame } from "./MarkdownFrame";

function PreviewBody({ artifact, preview }: { artifact: Artifact; preview: ArtifactPreview }) {
  switch (preview.kind) {
    case "text":
    case "json":
      return (
        <>
          <pre className="max-h-96 overflow-auto whitespace-pre-wrap break-words rounded bg-slate-50 p-2 font-mono text-xs dark:bg-slate-900">{preview.excerpt}</pre>
          {preview.truncated && <p className="mt-1 text-xs">Only the start is shown: download it for the rest.</p>}
        </>
      );
    case "markdown":
      return (
        <>
          <MarkdownFrame html={preview.html} remoteImages={preview.remoteImages} title={`Rendered ${artifact.name}`} />
          {preview.truncated && <p className="mt-1 text-xs">Only the start is rendered: download it for the rest.</p>}
        </>
      );
    case "image":
      return (
        <div className="flex items-start gap-3">
          <ArtifactThumbnail artifact={artifact} size="large" />
          <p className="text-sm">
            {preview.contentType}, {preview.width} × {preview.height} pixels
          </p>
        </div>
      );
    case "pdf":
      return (
        <p className="text-sm">
          PDF, {preview.pages} page{preview.pages === 1 ? "" : "s"}
          {preview.title !== null && <>: “{preview.title}”</>}
          {preview.encrypted && " (encrypted)"}
        </p>
      );
    case "unavailable":
    case "none":
      return <p className="text-sm">{preview.reason}</p>;
  }
}

export function ArtifactPreviewView({ artifact, onClose }: { artifact: Artifact; onClose: () => void }) {
  const client = useClient();
  const preview = useQuery({ queryKey: ["artifacts", "preview", artifact.id, artifact.sha256], queryFn: () => client.artifacts.preview(artifact.id), retry: false });
  return (
    <section aria-label={`Preview of ${artifact.name}`} className="mb-4 rounded border border-slate-200 p-3 dark:border-slate-700">
      <div className="mb-2 flex items-center justify-between gap-2">
        <h2 className="text-sm font-semibold">Preview of {artifact.name}</h2>
        <Button onClick={onClose}>Close preview</Button>
      </div>
      <ErrorNotice error={preview.error} title="The preview could not be loaded" />
      {preview.isPending ? <p className="text-sm">Loading the preview…</p> : preview.data && <PreviewBody artifact={artifact} preview={preview.data} />}
    </section>
  );
}
