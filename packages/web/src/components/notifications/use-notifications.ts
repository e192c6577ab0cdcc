/**
 * @module components/notifications/use-notifications
 * The signed-in person's notifications (USER_NOTIFICATION events: a task of theirs finished, failed or asks a
 * question; for admins, the vault locked or a peer link down), followed live from the node's event stream
 * (`client.events.stream({ type: "USER_NOTIFICATION" })`) for as long as the shell is shown. The node sends each
 * person only their own (and admins theirs); the SDK reconnects by itself. Notifications are not stored by the
 * node: the list holds what arrived while the app was open (the newest first, at most `MAX_KEPT`).
 */
import { useCallback, useEffect, useState } from "react";
import type { BusEvent } from "@kai/protocol";
import { useClient } from "../../app/session";

export const MAX_KEPT = 50;

export interface Notification {
  id: string;
  kind: string;
  title: string;
  message: string;
  /** Where in the app it leads (a task's page, the vault, the peers), when it names one. */
  link?: string;
  at: string;
  read: boolean;
}

export interface Notifications {
  items: readonly Notification[];
  unread: number;
  /** The newest notification that arrived while the app was open (announced to screen readers). */
  latest: Notification | undefined;
  markAllRead(): void;
}

/** A notification from an event; links are kept only when they stay inside the app. */
export function notificationOf(event: BusEvent): Notification {
  const text = (value: unknown, fallback: string) => (typeof value === "string" && value.length > 0 ? value.slice(0, 300) : fallback);
  const link = typeof event.payload.link === "string" && event.payload.link.startsWith("/") && !event.payload.link.startsWith("//") ? event.payload.link : undefined;
  return {
    id: event.id,
    kind: text(event.payload.kind, "notice"),
    title: text(event.payload.title, "Notification"),
    message: text(event.payload.message, ""),
    ...(link ? { link } : {}),
    at: event.timestamp,
    read: false,
  };
}

export function useNotifications(enabled: boolean): Notifications {
  const client = useClient();
  const [items, setItems] = useState<Notification[]>([]);
  const [latest, setLatest] = useState<Notification | undefined>(undefined);

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    void (async () => {
      const stream = await client.events.stream({ type: "USER_NOTIFICATION" }, { signal: controller.signal });
      for await (const item of stream) {
        if (item.type !== "event") continue;
        const note = notificationOf(item.event);
        setItems((known) => (known.some((seen) => seen.id === note.id) ? known : [note, ...known].slice(0, MAX_KEPT)));
        setLatest(note);
      }
    })().catch(() => undefined); // signed out or the shell unmounted (aborted), or refused: no notifications shown
    return () => controller.abort();
  }, [client, enabled]);

  const markAllRead = useCallback(() => setItems((known) => (known.some((note) => !note.read) ? known.map((note) => ({ ...note, read: true })) : known)), []);
  return { items, unread: items.filter((note) => !note.read).length, latest, markAllRead };
}
