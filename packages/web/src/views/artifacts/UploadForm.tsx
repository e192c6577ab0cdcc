/**
 * @module views/artifacts/UploadForm
 * Uploads a file: the browser streams it as the request body (it is never read whole into the page), with a name
 * (the file's own by default) and tags. The node sniffs its type and answers whether the bytes were stored already
 * (deduplicated); a file over the node's size limit is its `artifact_too_large`, shown as it comes.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { ArtifactTagsSchema, type UploadArtifactResponse } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { useRefreshArtifacts } from "./artifacts-queries";

export function UploadForm({ onUploaded }: { onUploaded(result: UploadArtifactResponse): void }) {
  const client = useClient();
  const refresh = useRefreshArtifacts();
  const [file, setFile] = useState<File>();
  const [name, setName] = useState("");
  const [tags, setTags] = useState("");
  const [problem, setProblem] = useState<{ file?: string; tags?: string }>({});
  const upload = useMutation({
    mutationFn: (input: { file: File; name: string; tags: string[] }) =>
      client.artifacts.upload(input.file, { name: input.name, tags: input.tags, ...(input.file.type ? { contentType: input.file.type } : {}) }),
    onSuccess: async (result) => {
      await refresh();
      onUploaded(result);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const tagList = tags.split(",").map((tag) => tag.trim()).filter(Boolean);
    const checked = ArtifactTagsSchema.safeParse(tagList);
    const found = { ...(file ? {} : { file: "choose a file" }), ...(checked.success ? {} : { tags: "tags are letters, digits and _ . : - separated by commas" }) };
    setProblem(found);
    if (file && checked.success) upload.mutate({ file, name: name.trim() || file.name, tags: checked.data });
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Upload a file" className="max-w-xl space-y-3">
      <div className="space-y-1">
        <label htmlFor="artifact-file" className="block text-sm font-medium text-slate-800 dark:text-slate-200">
          File
        </label>
        <input
          id="artifact-file"
          type="file"
          className="block text-sm"
          aria-invalid={problem.file ? true : undefined}
          aria-describedby={problem.file ? "artifact-file-error" : undefined}
          onChange={(event) => setFile(event.target.files?.[0])}
        />
        {problem.file && (
          <p id="artifact-file-error" role="alert" className="text-xs text-red-700 dark:text-red-400">
            {problem.file}
          </p>
        )}
      </div>
      <TextField label="Name" hint="the file's name when empty" value={name} onChange={(event) => setName(event.target.value)} autoComplete="off" />
      <TextField label="Tags" hint="a comma list" value={tags} onChange={(event) => setTags(event.target.value)} error={problem.tags} autoComplete="off" />
      <ErrorNotice error={upload.error} title="The file was not uploaded" />
      <Button type="submit" look="primary" busy={upload.isPending}>
        Upload
      </Button>
    </form>
  );
}
