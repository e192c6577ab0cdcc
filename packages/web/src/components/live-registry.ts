/**
 * @module components/live-registry
 * `useRegistryChanges`: tells a page when the registry changed, over the node's WebSocket stream, so that it can
 * refetch what it shows at once instead of waiting for its next poll. The watch resumes after a known revision
 * (`fromRevision`): a page that only needs to hear of changes never downloads a snapshot of every service
 * (100,000 of them, on a big node). Bursts are coalesced: at most one call per `quietMs`.
 */
import { useEffect, useRef } from "react";
import type { EventMessage } from "@kai/sdk";
import { useClient } from "../app/session";

export function useRegistryChanges(fromRevision: number | undefined, onChange: (events: EventMessage[]) => void, quietMs = 250): void {
  const client = useClient();
  const callback = useRef(onChange);
  callback.current = onChange;
  const started = fromRevision !== undefined;

  useEffect(() => {
    if (!started) return;
    let pending: EventMessage[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const events = pending;
      pending = [];
      callback.current(events);
    };
    const watcher = client.watch({
      fromRevision,
      onEvent(message) {
        pending.push(message);
        timer ??= setTimeout(flush, quietMs);
      },
      // A connection that breaks is retried by the SDK; meanwhile the page's polling keeps it current.
      onError: () => undefined,
    });
    watcher.ready.catch(() => undefined);
    return () => {
      if (timer) clearTimeout(timer);
      watcher.close();
    };
    // Started once per page: later revisions arrive on this same watch.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, started, quietMs]);
}
