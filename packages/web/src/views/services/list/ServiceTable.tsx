/**
 * @module views/services/list/ServiceTable
 * The services as a table that stays smooth at 100,000 rows: only the rows in sight are in the document
 * (@tanstack/react-virtual), and nearing the end of what is loaded asks for the next page. It keeps table
 * semantics for screen readers (role=table named "Services", aria-rowcount/-rowindex, aria-sort on the sorted
 * column); the scroll area takes keyboard focus so arrow keys scroll, and every row's actions are buttons.
 */
import { observeElementRect, useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import { Badge, toneOf } from "../../../components/Badge";
import { Button } from "../../../components/Button";
import { When } from "../../../components/When";
import type { SortKey, SortState } from "./filters";
import type { Row } from "./rows";

const ROW_HEIGHT = 56;
/** The height assumed while the scroll area has none yet (not laid out, or no layout at all as in jsdom). */
const UNMEASURED_HEIGHT = 600;
/** Load the next page while this many loaded rows are still ahead of the view. */
const PREFETCH_ROWS = 50;
const COLUMNS = "minmax(14rem,2fr) 6rem 10rem 7rem 7rem minmax(10rem,1.5fr) minmax(8rem,1fr) 9rem 11rem 10rem";
/** The columns' least widths added up: rows are positioned absolutely, so they must be given the width to scroll. */
const MIN_WIDTH = "min-w-[92rem]";

interface Column {
  label: string;
  sort?: SortKey;
}

const HEADERS: Column[] = [
  { label: "Service", sort: "name" },
  { label: "Type", sort: "type" },
  { label: "Status", sort: "status" },
  { label: "Provider", sort: "provider" },
  { label: "Owner", sort: "owner" },
  { label: "Capabilities" },
  { label: "Tags" },
  { label: "Origin" },
  { label: "Updated", sort: "updated" },
  { label: "Actions" },
];

export interface ServiceTableProps {
  rows: readonly Row[];
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore(): void;
  sort: SortState;
  onSort(key: SortKey): void;
  canWrite: boolean;
  onEdit(row: Row): void;
  onDeregister(row: Row): void;
}

function shortDid(did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did;
}

const cell = "truncate px-2 py-1 text-sm";

export function ServiceTable({ rows, hasMore, loadingMore, onLoadMore, sort, onSort, canWrite, onEdit, onDeregister }: ServiceTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    getItemKey: (index) => rows[index]?.key ?? index,
    // A scroll area without layout would show no rows at all; a screenful is the better guess.
    observeElementRect: (instance, callback) =>
      observeElementRect(instance, (rect) => callback(rect.height > 0 ? rect : { width: rect.width, height: UNMEASURED_HEIGHT })),
  });
  const items = virtualizer.getVirtualItems();
  const lastVisible = items.length > 0 ? items[items.length - 1]!.index : -1;

  useEffect(() => {
    if (hasMore && !loadingMore && lastVisible >= rows.length - PREFETCH_ROWS) onLoadMore();
  }, [hasMore, loadingMore, lastVisible, rows.length, onLoadMore]);

  return (
    <div className="space-y-2">
      <div
        ref={scroller}
        role="table"
        aria-label="Services"
        aria-rowcount={hasMore ? -1 : rows.length + 1}
        tabIndex={0}
        className="relative max-h-[70vh] min-h-48 overflow-auto rounded-lg border border-slate-200 bg-white focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:bg-slate-900"
      >
        <div role="rowgroup" className={`sticky top-0 z-10 ${MIN_WIDTH} border-b border-slate-200 bg-slate-50 dark:border-slate-700 dark:bg-slate-800`}>
          <div role="row" aria-rowindex={1} className="grid items-center" style={{ gridTemplateColumns: COLUMNS }}>
            {HEADERS.map((column) => {
              const sorted = column.sort !== undefined && sort.key === column.sort;
              return (
                <div
                  key={column.label}
                  role="columnheader"
                  aria-sort={sorted ? (sort.descending ? "descending" : "ascending") : undefined}
                  className={`${column === HEADERS[0] ? "sticky left-0 z-[1] bg-slate-50 dark:bg-slate-800" : ""} px-2 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-700 dark:text-slate-300`}
                >
                  {column.sort ? (
                    <button type="button" className="inline-flex items-center gap-1 rounded uppercase hover:underline" onClick={() => onSort(column.sort!)}>
                      {column.label}
                      <span aria-hidden="true">{sorted ? (sort.descending ? "▼" : "▲") : "↕"}</span>
                      <span className="sr-only">{sorted ? (sort.descending ? ", sorted descending" : ", sorted ascending") : ", sort"}</span>
                    </button>
                  ) : (
                    column.label
                  )}
                </div>
              );
            })}
          </div>
        </div>
        <div role="rowgroup" className={`relative ${MIN_WIDTH}`} style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const row = rows[item.index]!;
            const { service } = row;
            const local = service.origin === undefined;
            return (
              <div
                key={item.key}
                role="row"
                aria-rowindex={item.index + 2}
                className="absolute left-0 grid w-full items-center border-b border-slate-100 dark:border-slate-800"
                style={{ gridTemplateColumns: COLUMNS, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              >
                {/* The service's name stays in sight while the row scrolls sideways (its actions are at the far end). */}
                <div role="cell" className={`${cell} sticky left-0 z-[1] bg-white dark:bg-slate-900`}>
                  <Link to={`/services/${encodeURIComponent(service.id)}`} className="font-medium text-sky-800 underline-offset-2 hover:underline dark:text-sky-300">
                    {service.name}
                  </Link>
                  <div className="flex items-center gap-1 font-mono text-xs text-slate-600 dark:text-slate-400">
                    <span className="truncate">{service.id}</span>
                    {row.fresh && <Badge tone="good">new</Badge>}
                  </div>
                </div>
                <div role="cell" className={cell}>
                  {service.type}
                </div>
                <div role="cell" className={`${cell} flex flex-wrap gap-1`}>
                  <Badge tone={toneOf(service.status)}>{service.status}</Badge>
                  {service.health !== undefined && service.health !== "unknown" && <Badge tone={toneOf(service.health)}>{`health ${service.health}`}</Badge>}
                </div>
                <div role="cell" className={cell}>
                  {service.provider ?? "—"}
                </div>
                <div role="cell" className={cell}>
                  {service.owner}
                </div>
                <div role="cell" className={cell} title={service.capabilities.join(", ")}>
                  {service.capabilities.join(", ") || "—"}
                </div>
                <div role="cell" className={cell} title={service.tags.join(", ")}>
                  {service.tags.join(", ") || "—"}
                </div>
                <div role="cell" className={cell} title={service.origin}>
                  {local ? "this node" : shortDid(service.origin!)}
                </div>
                <div role="cell" className={cell}>
                  <When at={service.updatedAt} />
                </div>
                <div role="cell" className={`${cell} flex gap-1`}>
                  {canWrite && local && (
                    <>
                      <Button className="px-2 py-1 text-xs" aria-label={`Edit ${service.id}`} onClick={() => onEdit(row)}>
                        Edit
                      </Button>
                      <Button className="px-2 py-1 text-xs" look="danger" aria-label={`Deregister ${service.id}`} onClick={() => onDeregister(row)}>
                        Deregister
                      </Button>
                    </>
                  )}
                  {!local && <span className="text-xs text-slate-600 dark:text-slate-400">read-only here</span>}
                </div>
              </div>
            );
          })}
        </div>
      </div>
      {rows.length === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">No services match.</p>}
      {hasMore && (
        <Button busy={loadingMore} onClick={onLoadMore}>
          {loadingMore ? "Loading more services…" : "Load more services"}
        </Button>
      )}
    </div>
  );
}
