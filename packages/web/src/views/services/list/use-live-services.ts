/**
 * @module views/services/list/use-live-services
 * The services the table shows, live: pages read from the node with its cursor (only as far as someone scrolls,
 * so 100,000 services cost a page, not the registry), and the registry's WebSocket stream (`client.watch`)
 * started from the first page's revision, so nothing between the read and the stream is missed and no
 * snapshot of the whole registry is sent. Should the node answer with a snapshot anyway (records imported from
 * peers are never replayed; a client that fell too far behind), the snapshot is the whole truth and the list
 * shows the watcher's own copy instead of pages. The node sorts the pages (the sort is part of what is read,
 * so a new sort reads again from the first page); the stream is not sorted, so the rows it changes are
 * placed with the node's comparison (rows.ts).
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { ServiceFilterSchema, matchesFilter, type ServiceFilterInput, type ServiceRecord } from "@kai/protocol";
import type { Watcher, WatcherState } from "@kai/sdk";
import { useClient } from "../../../app/session";
import { filterKey, sortQuery, type SortState } from "./filters";
import { mergeRows, rowKey, sortAll, sortRows, type LiveChange, type Row } from "./rows";

/**
 * Rows per request: a screenful many times over, small enough to answer at once. A field rather than a bare
 * constant so that a test can read a list of a few services in several pages.
 */
export const listPaging = { pageSize: 200 };

export type LiveState = WatcherState | "failed";

export interface LiveServices {
  rows: Row[];
  /** The node holds more matching services than are loaded. */
  hasMore: boolean;
  loadMore(): void;
  loadingMore: boolean;
  pending: boolean;
  error: unknown;
  /** The stream: connecting, open (live), reconnecting, closed, or failed for good. */
  live: LiveState;
  liveError: unknown;
}

/** The services matching `filter`, in the node's order for `sort`. */
export function useLiveServices(filter: ServiceFilterInput, sort: SortState): LiveServices {
  const client = useClient();
  const key = filterKey(filter);
  const { key: sortKey, descending } = sort;
  const pages = useInfiniteQuery({
    // The sort is part of the key: the node's pages differ by sort, and a cursor belongs to the sort it came from.
    queryKey: ["services", "list", key, sortKey, descending],
    queryFn: ({ pageParam }) =>
      client.services.list({ ...filter, ...sortQuery({ key: sortKey, descending }), limit: listPaging.pageSize, ...(pageParam !== undefined ? { cursor: pageParam } : {}) }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // The stream keeps what was read current; reading it again would only lose the scroll position.
    staleTime: Infinity,
    gcTime: 0,
  });
  const baseline = pages.data?.pages[0]?.revision;

  const changes = useRef(new Map<string, LiveChange>());
  /** Which list (filter and baseline) `changes` belongs to: a new list must not show the last one's changes. */
  const changesOf = useRef("");
  const listId = `${key}@${baseline ?? "-"}`;
  const watcherRef = useRef<Watcher | undefined>(undefined);
  const [snapshotMode, setSnapshotMode] = useState(false);
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState<LiveState>("connecting");
  const [liveError, setLiveError] = useState<unknown>(null);

  useEffect(() => {
    if (baseline === undefined) return;
    changes.current = new Map();
    changesOf.current = `${key}@${baseline}`;
    setSnapshotMode(false);
    setLiveError(null);
    const parsed = ServiceFilterSchema.parse(filter);
    let sequence = 0;
    // A burst of changes (a lease sweep, an import) redraws the table once per frame, not once per change.
    let scheduled = false;
    const frame = globalThis.requestAnimationFrame?.bind(globalThis) ?? ((callback: () => void) => setTimeout(callback, 16));
    const bump = () => {
      if (scheduled) return;
      scheduled = true;
      frame(() => {
        scheduled = false;
        setVersion((value) => value + 1);
      });
    };
    const watcher = client.watch({
      filter,
      fromRevision: baseline,
      onEvent: (message) => {
        const { service } = message;
        const gone = message.event === "deregistered" || message.reason === "hidden" || service === undefined || !matchesFilter(service, parsed);
        const target = service ?? { id: message.serviceId, ...(message.origin !== undefined ? { origin: message.origin } : {}) };
        changes.current.set(rowKey(target), {
          record: gone ? undefined : service,
          revision: service?.revision ?? Number.POSITIVE_INFINITY,
          registered: message.event === "registered",
          sequence: ++sequence,
        });
        bump();
      },
      onSnapshot: () => {
        setSnapshotMode(true);
        bump();
      },
      onStateChange: (state) => {
        setLive(state);
        if (state === "open") setLiveError(null);
      },
      onError: (error) => setLiveError(error),
    });
    watcherRef.current = watcher;
    watcher.ready.catch((error: unknown) => {
      // Refused for good (the token may no longer read the registry): say so instead of "reconnecting".
      if (watcherRef.current === watcher && watcher.state === "closed") {
        setLive("failed");
        setLiveError(error);
      }
    });
    return () => {
      watcherRef.current = undefined;
      watcher.close();
    };
    // `key` stands for `filter` (a new object on every render).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, key, baseline]);

  const hasMore = pages.hasNextPage;
  const loaded = pages.data?.pages;
  const rows = useMemo(() => {
    const order = { key: sortKey, descending };
    if (snapshotMode && watcherRef.current) {
      return sortAll([...watcherRef.current.services.values()].map((service: ServiceRecord) => ({ key: rowKey(service), service, fresh: false })), order);
    }
    const current = changesOf.current === listId ? changes.current : new Map<string, LiveChange>();
    return sortRows(mergeRows(loaded?.flatMap((page) => page.services) ?? [], current, !hasMore), order);
    // `version` counts the stream's changes, which live in a ref.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [loaded, hasMore, snapshotMode, version, listId, sortKey, descending]);

  return {
    rows,
    hasMore: !snapshotMode && hasMore,
    loadMore: () => {
      if (pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
    },
    loadingMore: pages.isFetchingNextPage,
    pending: pages.isPending,
    error: pages.error,
    live,
    liveError,
  };
}
