/**
 * @module views/memory/MemoryPanel
 * Semantic memory by meaning: a query searched in a namespace (nearest by cosine similarity, scores shown), with
 * metadata filters (`key=value`, applied inside the search so the limit is met whenever that many match), a minimum
 * score, and relation expansion; each result's text, metadata, score and expiry, and delete after asking
 * (`memory:write`). "Add a memory" opens the form.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { MemorySearchResult } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { AddMemoryForm } from "./AddMemoryForm";

interface Search {
  q: string;
  namespace: string;
  filter: Record<string, string>;
  threshold?: number;
  expand: boolean;
}

/** `topic=billing, team=ops` as `{topic: "billing", team: "ops"}`; null when a part has no `=`. */
export function filtersOf(text: string): Record<string, string> | null {
  const filter: Record<string, string> = {};
  for (const part of text.split(",").map((piece) => piece.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    if (at <= 0) return null;
    filter[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return filter;
}

export function MemoryPanel() {
  const client = useClient();
  const queries = useQueryClient();
  const canWrite = useCan("memory:write");
  const [draft, setDraft] = useState({ q: "", namespace: "default", filter: "", threshold: "", expand: false });
  const [problem, setProblem] = useState<string>();
  const [search, setSearch] = useState<Search>();
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [deleting, setDeleting] = useState<MemorySearchResult>();
  const results = useQuery({
    queryKey: ["memory", "search", search],
    queryFn: () =>
      client.memory.search(search!.q, {
        namespace: search!.namespace,
        filter: search!.filter,
        expand: search!.expand,
        ...(search!.threshold !== undefined ? { threshold: search!.threshold } : {}),
      }),
    enabled: search !== undefined,
  });
  const remove = useMutation({
    mutationFn: (id: string) => client.memory.delete(id),
    onSuccess: async () => {
      setDeleting(undefined);
      await queries.invalidateQueries({ queryKey: ["memory"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const filter = filtersOf(draft.filter);
    const threshold = draft.threshold.trim() === "" ? undefined : Number(draft.threshold);
    if (draft.q.trim() === "") return setProblem("write what to look for");
    if (filter === null) return setProblem("filters are key=value, separated by commas");
    if (threshold !== undefined && !(threshold >= -1 && threshold <= 1)) return setProblem("the minimum score is between -1 and 1");
    setProblem(undefined);
    setSearch({ q: draft.q.trim(), namespace: draft.namespace.trim() || "default", filter, expand: draft.expand, ...(threshold !== undefined ? { threshold } : {}) });
  };

  return (
    <Panel title="Memory">
      <form onSubmit={submit} noValidate role="search" aria-label="Search memory" className="mb-3 space-y-3">
        <div className="flex flex-wrap items-end gap-3">
          <div className="w-80">
            <TextField label="Looking for" value={draft.q} onChange={(event) => setDraft({ ...draft, q: event.target.value })} error={problem} autoComplete="off" />
          </div>
          <div className="w-40">
            <TextField label="Namespace" value={draft.namespace} onChange={(event) => setDraft({ ...draft, namespace: event.target.value })} autoComplete="off" />
          </div>
          <div className="w-56">
            <TextField label="Filters" hint="key=value, comma separated" value={draft.filter} onChange={(event) => setDraft({ ...draft, filter: event.target.value })} autoComplete="off" />
          </div>
          <div className="w-32">
            <TextField label="Minimum score" inputMode="decimal" value={draft.threshold} onChange={(event) => setDraft({ ...draft, threshold: event.target.value })} autoComplete="off" />
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={draft.expand} onChange={(event) => setDraft({ ...draft, expand: event.target.checked })} />
            Also show related memories
          </label>
          <Button type="submit">Search</Button>
          {canWrite && !adding && (
            <Button look="primary" onClick={() => setAdding(true)}>
              Add a memory
            </Button>
          )}
        </div>
      </form>
      {adding && (
        <div className="mb-4">
          <AddMemoryForm
            namespace={draft.namespace.trim() || "default"}
            onAdded={(result) => {
              setAdding(false);
              setNotice(result.created ? `Remembered in ${result.memory.namespace}.` : `${result.memory.namespace} already holds this text: nothing new was stored.`);
              void queries.invalidateQueries({ queryKey: ["memory"] });
            }}
          />
        </div>
      )}
      {notice && (
        <p role="status" className="mb-3 text-sm">
          {notice}
        </p>
      )}
      <ErrorNotice error={results.error} title="Memory could not be searched" />
      {search === undefined ? (
        <p className="text-sm">Search by meaning: write what you are looking for.</p>
      ) : results.isPending ? (
        <p className="text-sm">Searching…</p>
      ) : (
        <DataTable
          label="Memories found"
          rows={results.data?.results ?? []}
          rowKey={(result) => `${result.memory.id}:${result.relatedTo ?? ""}`}
          empty="Nothing found."
          columns={[
            {
              header: "Memory",
              cell: (result) => (
                <>
                  <span className="block whitespace-pre-wrap">{result.memory.text}</span>
                  <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">
                    {result.memory.id}
                    {result.relatedTo && ` (related to ${result.relatedTo})`}
                  </span>
                </>
              ),
            },
            { header: "Score", cell: (result) => result.score.toFixed(3) },
            { header: "Metadata", className: "font-mono text-xs", cell: (result) => Object.entries(result.memory.metadata).map(([key, value]) => `${key}=${String(value)}`).join(", ") || "none" },
            { header: "Stored", cell: (result) => <When at={result.memory.createdAt} /> },
            { header: "Expires", cell: (result) => <When at={result.memory.expiresAt} never="never" /> },
            {
              header: "Actions",
              cell: (result) =>
                canWrite ? (
                  <Button look="danger" aria-label={`Delete ${result.memory.id}`} onClick={() => setDeleting(result)}>
                    Delete
                  </Button>
                ) : null,
            },
          ]}
        />
      )}
      {deleting && (
        <ConfirmDialog
          open
          title="Delete this memory?"
          confirmLabel="Delete memory"
          busy={remove.isPending}
          onConfirm={() => remove.mutate(deleting.memory.id)}
          onCancel={() => {
            remove.reset();
            setDeleting(undefined);
          }}
        >
          <p className="whitespace-pre-wrap">{deleting.memory.text}</p>
          <ErrorNotice error={remove.error} title="The memory was not deleted" />
        </ConfirmDialog>
      )}
    </Panel>
  );
}
