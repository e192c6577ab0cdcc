/**
 * @module views/services/list/ServicesListPage
 * The Services page: the live table with its filters, search and sort (all kept in the address; the node sorts), and the
 * actions on it: register, edit (`?edit=<id>`, so other pages can link to a service's form), import a
 * manifest (`?panel=import`), deregister after a confirmation. What a user may press follows their scopes;
 * the node checks every call again.
 */
import { useQuery } from "@tanstack/react-query";
import { lazy, useCallback, useState } from "react";
import { useSearchParams } from "react-router";
import type { ServiceRecord } from "@kai/protocol";
import { useCan, useClient } from "../../../app/session";
import { Button } from "../../../components/Button";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Page } from "../../../components/Page";
import { ServiceForm } from "../form/ServiceForm";
import { FILTER_KEYS, parseFilters, readFilters, readSort, withParam, type SortKey } from "./filters";
import { FilterBar } from "./FilterBar";
import type { Row } from "./rows";
import { ServiceTable } from "./ServiceTable";
import { useLiveServices, type LiveState } from "./use-live-services";

/** The YAML parser is loaded only when someone imports a manifest. */
const ImportManifest = lazy(() => import("../import/ImportManifest").then((module) => ({ default: module.ImportManifest })));

const LIVE_WORDS: Record<LiveState, string> = {
  connecting: "Connecting to live updates…",
  open: "Live: changes appear as they happen",
  reconnecting: "Reconnecting to live updates…",
  closed: "Live updates stopped",
  failed: "Live updates refused",
};

/** The edit form of one service, read fresh so that it starts from the latest revision. */
function EditService({ id, onDone, onCancel }: { id: string; onDone(service: ServiceRecord): void; onCancel(): void }) {
  const client = useClient();
  const record = useQuery({ queryKey: ["services", "record", id], queryFn: () => client.services.get(id), gcTime: 0 });
  if (record.isPending) return <p role="status">Loading {id}…</p>;
  if (record.isError) {
    return (
      <div className="space-y-2">
        <ErrorNotice error={record.error} title={`${id} cannot be edited`} />
        <Button onClick={onCancel}>Close</Button>
      </div>
    );
  }
  return <ServiceForm key={id} mode={{ kind: "edit", record: record.data }} onDone={onDone} onCancel={onCancel} />;
}

export function ServicesListPage() {
  const client = useClient();
  const canWrite = useCan("services:write");
  const [params, setParams] = useSearchParams();
  const state = readFilters(params);
  const { filter, errors } = parseFilters(state);
  const sort = readSort(params);
  const panel = params.get("panel");
  const editing = params.get("edit");
  const services = useLiveServices(filter, sort);
  const [notice, setNotice] = useState("");
  const [target, setTarget] = useState<Row | undefined>(undefined);
  const [removing, setRemoving] = useState(false);
  const [removeError, setRemoveError] = useState<unknown>(null);

  const update = useCallback((change: (current: URLSearchParams) => URLSearchParams) => setParams((current) => change(current), { replace: true }), [setParams]);
  const closePanels = () =>
    update((current) => {
      const next = new URLSearchParams(current);
      next.delete("panel");
      next.delete("edit");
      return next;
    });
  const openPanel = (name: "panel" | "edit", value: string) =>
    update((current) => {
      const next = new URLSearchParams(current);
      next.delete("panel");
      next.delete("edit");
      next.set(name, value);
      return next;
    });

  const onSort = (key: SortKey) =>
    update((current) => {
      let next = current;
      if (sort.key !== key) next = withParam(withParam(next, "sort", key), "dir", "");
      else if (!sort.descending) next = withParam(next, "dir", "desc");
      else next = withParam(withParam(next, "sort", ""), "dir", "");
      return next;
    });

  async function deregister() {
    if (!target) return;
    setRemoving(true);
    setRemoveError(null);
    try {
      await client.services.remove(target.service.id);
      setNotice(`Deregistered ${target.service.id}.`);
      setTarget(undefined);
    } catch (error) {
      setRemoveError(error);
    } finally {
      setRemoving(false);
    }
  }

  const { rows } = services;

  return (
    <Page
      title="Services"
      actions={
        canWrite && (
          <>
            <Button look="primary" onClick={() => openPanel("panel", "register")}>
              Register service
            </Button>
            <Button onClick={() => openPanel("panel", "import")}>Import manifest</Button>
          </>
        )
      }
    >
      <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
        {notice}
      </p>
      {canWrite && panel === "register" && (
        <ServiceForm
          mode={{ kind: "register" }}
          onCancel={closePanels}
          onDone={(service, created) => {
            setNotice(`${created ? "Registered" : "Updated"} ${service.id}.`);
            closePanels();
          }}
        />
      )}
      {canWrite && panel === "import" && <ImportManifest onClose={closePanels} />}
      {canWrite && editing !== null && (
        <EditService
          id={editing}
          onCancel={closePanels}
          onDone={(service) => {
            setNotice(`Saved ${service.id}.`);
            closePanels();
          }}
        />
      )}
      <FilterBar
        state={state}
        errors={errors}
        onChange={(key, value) => update((current) => withParam(current, key, value))}
        onClear={() =>
          update((current) => {
            const next = new URLSearchParams(current);
            for (const key of FILTER_KEYS) next.delete(key);
            return next;
          })
        }
      />
      <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-700 dark:text-slate-300">
        <p>
          {services.pending
            ? "Loading services…"
            : `${rows.length === 1 ? "1 service" : `${rows.length} services`}${services.hasMore ? " loaded; the node has more" : ""}`}
        </p>
        <p>
          <span aria-hidden="true">{services.live === "open" ? "● " : "○ "}</span>
          {LIVE_WORDS[services.live]}
        </p>
      </div>
      <ErrorNotice error={services.error} title="The services could not be listed" />
      {services.live === "failed" && <ErrorNotice error={services.liveError} title="Live updates were refused" />}
      <ServiceTable
        rows={rows}
        hasMore={services.hasMore}
        loadingMore={services.loadingMore}
        onLoadMore={services.loadMore}
        sort={sort}
        onSort={onSort}
        canWrite={canWrite}
        onEdit={(row) => openPanel("edit", row.service.id)}
        onDeregister={(row) => {
          setRemoveError(null);
          setTarget(row);
        }}
      />
      <ConfirmDialog
        open={target !== undefined}
        title={target ? `Deregister ${target.service.id}?` : "Deregister"}
        confirmLabel="Deregister"
        busy={removing}
        onCancel={() => setTarget(undefined)}
        onConfirm={() => void deregister()}
      >
        <p>
          {target?.service.name} leaves the registry at once: callers can no longer find it, and the gateway stops routing to it. It can register again later.
        </p>
        <ErrorNotice error={removeError} title="It was not deregistered" />
      </ConfirmDialog>
    </Page>
  );
}
