/**
 * @module views/prompts/PromptPage
 * One prompt at `/prompts/:name` (`?version=N` for an older version): the version's template and variables, a
 * render to try it, its versions with restore, where its labels point (and moving one), a diff between two
 * versions, a new version, and delete after asking. Writing needs `prompts:write` (and the server still checks that
 * the session owns the prompt or is an admin).
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { SettablePromptLabelSchema, type PromptVersion } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField, TextField } from "../../components/Field";
import { Page, Panel } from "../../components/Page";
import { When } from "../../components/When";
import { DiffPanel } from "./DiffPanel";
import { PromptForm } from "./PromptForm";
import { labelWords, promptPath } from "./PromptsList";
import { RenderPanel } from "./RenderPanel";
import { usePrompt, usePromptVersions, useRefreshPrompts } from "./prompts-queries";

function TemplateView({ version }: { version: PromptVersion }) {
  if (typeof version.template === "string") {
    return <pre className="whitespace-pre-wrap rounded bg-slate-50 p-2 font-mono text-sm dark:bg-slate-800">{version.template}</pre>;
  }
  return (
    <ol aria-label="Messages" className="space-y-2">
      {version.template.map((message, index) => (
        <li key={index}>
          <span className="text-xs font-semibold uppercase text-slate-600 dark:text-slate-400">{message.role}</span>
          <pre className="whitespace-pre-wrap rounded bg-slate-50 p-2 font-mono text-sm dark:bg-slate-800">{message.content}</pre>
        </li>
      ))}
    </ol>
  );
}

function LabelForm({ name, versions, current }: { name: string; versions: number; current: number }) {
  const client = useClient();
  const refresh = useRefreshPrompts();
  const [label, setLabel] = useState("production");
  const [version, setVersion] = useState(current);
  const [problem, setProblem] = useState<string>();
  const move = useMutation({ mutationFn: () => client.prompts.setLabel(name, label.trim(), version), onSuccess: refresh });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = SettablePromptLabelSchema.safeParse(label.trim());
    setProblem(checked.success ? undefined : (checked.error.issues[0]?.message ?? "not a label"));
    if (checked.success) move.mutate();
  };
  return (
    <form onSubmit={submit} aria-label="Move a label" className="mt-3 flex flex-wrap items-end gap-3">
      <div className="w-48">
        <TextField label="Label" value={label} onChange={(event) => setLabel(event.target.value)} error={problem} autoComplete="off" />
      </div>
      <div className="w-32">
        <SelectField label="To version" value={version} onChange={(event) => setVersion(Number(event.target.value))}>
          {Array.from({ length: versions }, (_, index) => versions - index).map((number) => (
            <option key={number} value={number}>
              v{number}
            </option>
          ))}
        </SelectField>
      </div>
      <Button type="submit" busy={move.isPending}>
        Move label
      </Button>
      <ErrorNotice error={move.error} title="The label was not moved" />
    </form>
  );
}

export default function PromptPage() {
  const name = useParams().name ?? "";
  const [params, setParams] = useSearchParams();
  const asked = params.get("version");
  const selected = asked && /^\d+$/.test(asked) ? Number(asked) : undefined;
  const canWrite = useCan("prompts:write");
  const client = useClient();
  const navigate = useNavigate();
  const refresh = useRefreshPrompts();
  const prompt = usePrompt(name, selected);
  const versions = usePromptVersions(name);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const restore = useMutation({
    mutationFn: (version: number) => client.prompts.restore(name, version, `restored v${version}`),
    onSuccess: async (saved) => {
      await refresh();
      setParams({});
      return saved;
    },
  });
  const remove = useMutation({
    mutationFn: () => client.prompts.delete(name),
    onSuccess: async () => {
      await refresh();
      void navigate("/prompts");
    },
  });
  const info = prompt.data?.prompt;
  const version = prompt.data?.version;
  const labelsAt = (number: number) => Object.entries(info?.labels ?? {}).filter(([, at]) => at === number).map(([label]) => label);
  const allVersions = versions.data?.pages.flatMap((page) => page.versions) ?? [];

  return (
    <Page
      title={`Prompt: ${name}`}
      actions={
        canWrite && info && version ? (
          <>
            <Button look="primary" onClick={() => setEditing(true)}>
              New version
            </Button>
            <Button look="danger" onClick={() => setDeleting(true)}>
              Delete prompt
            </Button>
          </>
        ) : undefined
      }
    >
      <Link to="/prompts" className="text-sm text-sky-800 underline dark:text-sky-300">
        All prompts
      </Link>
      <ErrorNotice error={prompt.error} title="The prompt could not be read" />
      {prompt.isPending && <p role="status">Loading the prompt…</p>}
      {editing && info && version && (
        <Panel title="New version">
          <PromptForm
            existing={{ prompt: info, version }}
            onSaved={() => {
              setEditing(false);
              setParams({});
            }}
            onCancel={() => setEditing(false)}
          />
        </Panel>
      )}
      {info && version && (
        <>
          <Panel title={`Version ${version.version} of ${info.latestVersion}`}>
            <p className="mb-2 text-sm">
              {info.description && <span className="block">{info.description}</span>}
              Saved by {version.author} <When at={version.createdAt} />
              {version.message && <span> — {version.message}</span>}
              {version.restoredFrom !== undefined && <span> (a copy of v{version.restoredFrom})</span>}
            </p>
            <p className="mb-2 flex flex-wrap gap-1 text-sm">
              {labelsAt(version.version).map((label) => (
                <Badge key={label} tone="good">
                  {label}
                </Badge>
              ))}
              <span>
                Owner {info.owner}, {info.visibility}; tags: {info.tags.join(", ") || "none"}
              </span>
            </p>
            <TemplateView version={version} />
            <DataTable
              label="Variables"
              rows={version.variables}
              rowKey={(variable) => variable.name}
              empty="No variables."
              columns={[
                { header: "Variable", className: "font-mono", cell: (variable) => variable.name },
                { header: "Type", cell: (variable) => variable.type },
                { header: "Required", cell: (variable) => (variable.required ? "yes" : "no") },
                { header: "Default", cell: (variable) => (variable.default === undefined ? "none" : JSON.stringify(variable.default)) },
                { header: "Description", cell: (variable) => variable.description ?? "" },
              ]}
            />
          </Panel>
          <RenderPanel key={version.version} version={version} />
          <Panel title="Versions">
            <ErrorNotice error={versions.error ?? restore.error} title={restore.error ? "The version was not restored" : "The versions could not be listed"} />
            <DataTable
              label="Versions"
              rows={allVersions}
              rowKey={(entry) => String(entry.version)}
              empty="No versions."
              columns={[
                {
                  header: "Version",
                  cell: (entry) => (
                    <Link to={`${promptPath(name)}?version=${entry.version}`} className="text-sky-800 underline dark:text-sky-300" aria-current={entry.version === version.version ? "page" : undefined}>
                      v{entry.version}
                    </Link>
                  ),
                },
                { header: "Labels", cell: (entry) => labelsAt(entry.version).join(", ") },
                { header: "What changed", cell: (entry) => entry.message ?? (entry.restoredFrom !== undefined ? `copy of v${entry.restoredFrom}` : "") },
                { header: "By", cell: (entry) => entry.author },
                { header: "Saved", cell: (entry) => <When at={entry.createdAt} /> },
                {
                  header: "Actions",
                  cell: (entry) =>
                    canWrite && entry.version !== info.latestVersion ? (
                      <Button aria-label={`Restore v${entry.version}`} busy={restore.isPending && restore.variables === entry.version} onClick={() => restore.mutate(entry.version)}>
                        Restore
                      </Button>
                    ) : null,
                },
              ]}
            />
            {versions.hasNextPage && (
              <Button className="mt-3" busy={versions.isFetchingNextPage} onClick={() => void versions.fetchNextPage()}>
                More versions
              </Button>
            )}
          </Panel>
          <Panel title="Labels">
            <p className="text-sm">{labelWords(info.labels)}</p>
            {canWrite && <LabelForm name={name} versions={info.latestVersion} current={version.version} />}
          </Panel>
          <DiffPanel key={version.version} name={name} latest={info.latestVersion} shown={version.version} />
        </>
      )}
      {deleting && (
        <ConfirmDialog open title={`Delete ${name}?`} confirmLabel="Delete prompt" busy={remove.isPending} onConfirm={() => remove.mutate()} onCancel={() => setDeleting(false)}>
          <p>Every version and label goes. Gateway calls and tasks that name this prompt stop working.</p>
          <ErrorNotice error={remove.error} title="The prompt was not deleted" />
        </ConfirmDialog>
      )}
    </Page>
  );
}
