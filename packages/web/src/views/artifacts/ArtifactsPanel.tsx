/**
 * @module views/artifacts/ArtifactsPanel
 * The artifacts the session may see (its own; an admin's: everyone's), found by name, tag and type: name, sniffed
 * type, size, SHA-256, tags, uploader, when, with an image's thumbnail. Each can be previewed (ArtifactPreviewView.tsx)
 * and downloaded; with `artifacts:write` also shared (a signed
 * link that works without a token, for an hour unless asked otherwise) and deleted after asking. The upload form
 * opens from "Upload".
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import type { Artifact, ArtifactShare } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { ArtifactPreviewView } from "./ArtifactPreviewView";
import { ArtifactThumbnail } from "./ArtifactThumbnail";
import { useArtifactList, useRefreshArtifacts, type ArtifactFilter } from "./artifacts-queries";
import { UploadForm } from "./UploadForm";
import { sizeWords } from "../../components/size-words";
import { saveDownload } from "../../components/save-download";

/** Saves the artifact's bytes as a file: fetched with the session's credentials, then handed to the browser. */
async function saveToDisk(client: ReturnType<typeof useClient>, artifact: Artifact): Promise<void> {
  const download = await client.artifacts.download(artifact.id);
  await saveDownload(download.body, artifact.name);
}

export function ArtifactsPanel() {
  const client = useClient();
  const canWrite = useCan("artifacts:write");
  const refresh = useRefreshArtifacts();
  const [draft, setDraft] = useState<ArtifactFilter>({ q: "", tag: "", type: "" });
  const [filter, setFilter] = useState<ArtifactFilter>({ q: "", tag: "", type: "" });
  const [uploading, setUploading] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [shared, setShared] = useState<{ artifact: Artifact; share: ArtifactShare }>();
  const [deleting, setDeleting] = useState<Artifact>();
  const [previewing, setPreviewing] = useState<Artifact>();
  const list = useArtifactList(filter);
  const artifacts = list.data?.pages.flatMap((page) => page.artifacts) ?? [];
  const download = useMutation({ mutationFn: (artifact: Artifact) => saveToDisk(client, artifact) });
  const share = useMutation({
    mutationFn: async (artifact: Artifact) => ({ artifact, share: await client.artifacts.share(artifact.id) }),
    onSuccess: setShared,
  });
  const remove = useMutation({
    mutationFn: (artifact: Artifact) => client.artifacts.delete(artifact.id),
    onSuccess: async () => {
      setDeleting(undefined);
      await refresh();
    },
  });
  const search = (event: FormEvent) => {
    event.preventDefault();
    setFilter({ q: draft.q.trim(), tag: draft.tag.trim(), type: draft.type.trim() });
  };
  const actionError = download.error ?? share.error;

  return (
    <Panel title="Artifacts">
      <form onSubmit={search} role="search" aria-label="Search artifacts" className="mb-3 flex flex-wrap items-end gap-3">
        <div className="w-56">
          <TextField label="Name" value={draft.q} onChange={(event) => setDraft({ ...draft, q: event.target.value })} autoComplete="off" />
        </div>
        <div className="w-40">
          <TextField label="Tag" value={draft.tag} onChange={(event) => setDraft({ ...draft, tag: event.target.value })} autoComplete="off" />
        </div>
        <div className="w-40">
          <TextField label="Type" hint="e.g. image/*" value={draft.type} onChange={(event) => setDraft({ ...draft, type: event.target.value })} autoComplete="off" />
        </div>
        <Button type="submit">Search</Button>
        {canWrite && !uploading && (
          <Button look="primary" onClick={() => setUploading(true)}>
            Upload
          </Button>
        )}
      </form>
      {uploading && (
        <div className="mb-4">
          <UploadForm
            onUploaded={(result) => {
              setUploading(false);
              setNotice(`${result.artifact.name} uploaded (${sizeWords(result.artifact.size)}, ${result.artifact.contentType})${result.deduplicated ? ": these bytes were stored already, nothing new was written" : ""}.`);
            }}
          />
        </div>
      )}
      {notice && (
        <p role="status" className="mb-3 text-sm">
          {notice}
        </p>
      )}
      {shared && (
        <div role="status" aria-label="Share link" className="mb-3 rounded border border-slate-200 p-2 text-sm dark:border-slate-700">
          A link to {shared.artifact.name}, readable by anyone who has it until <When at={shared.share.expiresAt} />:
          <code className="mt-1 block break-all font-mono text-xs">{shared.share.url}</code>
        </div>
      )}
      {previewing && <ArtifactPreviewView key={previewing.id} artifact={previewing} onClose={() => setPreviewing(undefined)} />}
      <ErrorNotice error={list.error} title="The artifacts could not be listed" />
      <ErrorNotice error={actionError} title={download.error ? "The file could not be downloaded" : "No link was made"} />
      {list.isPending ? (
        <p className="text-sm">Loading artifacts…</p>
      ) : (
        <DataTable
          label="Artifacts"
          rows={artifacts}
          rowKey={(artifact) => artifact.id}
          empty={filter.q || filter.tag || filter.type ? "No artifact matches." : "No artifacts yet."}
          columns={[
            {
              header: "Name",
              className: "font-medium",
              cell: (artifact) => (
                <div className="flex items-center gap-2">
                  <ArtifactThumbnail artifact={artifact} />
                  <div>
                    {artifact.name}
                    <span className="block font-mono text-xs font-normal text-slate-600 dark:text-slate-400">{artifact.id}</span>
                  </div>
                </div>
              ),
            },
            { header: "Type", cell: (artifact) => artifact.contentType },
            { header: "Size", cell: (artifact) => sizeWords(artifact.size) },
            { header: "SHA-256", className: "font-mono text-xs", cell: (artifact) => <span title={artifact.sha256}>{artifact.sha256.slice(0, 12)}…</span> },
            { header: "Tags", cell: (artifact) => artifact.tags.join(", ") || "none" },
            { header: "Uploaded", cell: (artifact) => <>{artifact.uploader}, <When at={artifact.createdAt} /></> },
            {
              header: "Actions",
              className: "whitespace-nowrap",
              cell: (artifact) => (
                <div className="flex flex-wrap gap-2">
                  <Button aria-label={`Preview ${artifact.name}`} onClick={() => setPreviewing(artifact)}>
                    Preview
                  </Button>
                  <Button aria-label={`Download ${artifact.name}`} busy={download.isPending && download.variables.id === artifact.id} onClick={() => download.mutate(artifact)}>
                    Download
                  </Button>
                  {canWrite && (
                    <>
                      <Button aria-label={`Share ${artifact.name}`} busy={share.isPending && share.variables.id === artifact.id} onClick={() => share.mutate(artifact)}>
                        Share
                      </Button>
                      <Button look="danger" aria-label={`Delete ${artifact.name}`} onClick={() => setDeleting(artifact)}>
                        Delete
                      </Button>
                    </>
                  )}
                </div>
              ),
            },
          ]}
        />
      )}
      {list.hasNextPage && (
        <Button className="mt-3" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          More artifacts
        </Button>
      )}
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete ${deleting.name}?`}
          confirmLabel="Delete artifact"
          busy={remove.isPending}
          onConfirm={() => remove.mutate(deleting)}
          onCancel={() => {
            remove.reset();
            setDeleting(undefined);
          }}
        >
          <p>Its share links stop working. The bytes stay only while another artifact holds the same ones.</p>
          <ErrorNotice error={remove.error} title="The artifact was not deleted" />
        </ConfirmDialog>
      )}
    </Panel>
  );
}
