/**
 * @module views/prompts/PromptsList
 * Every prompt the session may read, found by full-text search (name, description, tags, the newest template) or
 * tag: name and description, tags, the newest version, where each label points, last change. Each name links to the
 * prompt's page. "New prompt" opens the form for sessions that may write prompts (`prompts:write`).
 */
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useCan } from "../../app/session";
import { Button } from "../../components/Button";
import { DataTable } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { PromptForm } from "./PromptForm";
import { usePromptList } from "./prompts-queries";

export const promptPath = (name: string) => `/prompts/${encodeURIComponent(name)}`;

/** `production: v3, latest: v5` */
export function labelWords(labels: Record<string, number>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, version]) => `${label}: v${version}`)
    .join(", ");
}

export function PromptsList() {
  const canWrite = useCan("prompts:write");
  const navigate = useNavigate();
  const [draft, setDraft] = useState({ q: "", tag: "" });
  const [filter, setFilter] = useState({ q: "", tag: "" });
  const [creating, setCreating] = useState(false);
  const list = usePromptList(filter.q, filter.tag);
  const prompts = list.data?.pages.flatMap((page) => page.prompts) ?? [];
  const search = (event: FormEvent) => {
    event.preventDefault();
    setFilter({ q: draft.q.trim(), tag: draft.tag.trim() });
  };
  return (
    <Panel title="Prompts">
      <form onSubmit={search} role="search" aria-label="Search prompts" className="mb-3 flex flex-wrap items-end gap-3">
        <div className="w-64">
          <TextField label="Search" value={draft.q} onChange={(event) => setDraft({ ...draft, q: event.target.value })} autoComplete="off" />
        </div>
        <div className="w-40">
          <TextField label="Tag" value={draft.tag} onChange={(event) => setDraft({ ...draft, tag: event.target.value })} autoComplete="off" />
        </div>
        <Button type="submit">Search</Button>
        {canWrite && !creating && (
          <Button look="primary" onClick={() => setCreating(true)}>
            New prompt
          </Button>
        )}
      </form>
      {creating && (
        <div className="mb-4">
          <PromptForm onSaved={(saved) => void navigate(promptPath(saved.prompt.name))} onCancel={() => setCreating(false)} />
        </div>
      )}
      <ErrorNotice error={list.error} title="The prompts could not be listed" />
      {list.isPending ? (
        <p className="text-sm">Loading prompts…</p>
      ) : (
        <DataTable
          label="Prompts"
          rows={prompts}
          rowKey={(prompt) => prompt.name}
          empty={filter.q || filter.tag ? "No prompt matches." : "No prompts yet."}
          columns={[
            {
              header: "Prompt",
              className: "font-medium",
              cell: (prompt) => (
                <>
                  <Link to={promptPath(prompt.name)} className="text-sky-800 underline-offset-2 hover:underline dark:text-sky-300">
                    {prompt.name}
                  </Link>
                  {prompt.description && <span className="block text-xs font-normal text-slate-600 dark:text-slate-400">{prompt.description}</span>}
                </>
              ),
            },
            { header: "Tags", cell: (prompt) => prompt.tags.join(", ") || "none" },
            { header: "Versions", cell: (prompt) => prompt.latestVersion },
            { header: "Labels", cell: (prompt) => labelWords(prompt.labels) },
            { header: "Owner", cell: (prompt) => `${prompt.owner} (${prompt.visibility})` },
            { header: "Changed", cell: (prompt) => <When at={prompt.updatedAt} /> },
          ]}
        />
      )}
      {list.hasNextPage && (
        <Button className="mt-3" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          More prompts
        </Button>
      )}
    </Panel>
  );
}
