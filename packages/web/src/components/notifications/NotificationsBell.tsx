/**
 * @module components/notifications/NotificationsBell
 * The header's notifications: a button that says how many are unread (in words, not only a coloured dot), which
 * opens the list (newest first, each linking where it leads: a task's page, the vault, the peers), and a polite
 * live region that announces each new one to screen readers without moving focus. Opening the list marks what it
 * shows as read; those still show "New" until it is closed. Escape closes it and returns focus to the button.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { Link } from "react-router";
import { useNotifications } from "./use-notifications";
import { When } from "../When";

export function NotificationsBell({ enabled }: { enabled: boolean }) {
  const { items, unread, latest, markAllRead } = useNotifications(enabled);
  const [open, setOpen] = useState(false);
  /** What was unread when the list was opened: shown as "New" while it stays open. */
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const button = useRef<HTMLButtonElement>(null);
  const panelId = useId();

  useEffect(() => {
    if (open && unread > 0) {
      setFresh((known) => new Set([...known, ...items.filter((note) => !note.read).map((note) => note.id)]));
      markAllRead();
    }
  }, [open, unread, items, markAllRead]);

  if (!enabled) return null;

  const close = (refocus: boolean) => {
    setOpen(false);
    setFresh(new Set());
    if (refocus) button.current?.focus();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Escape" && open) {
      event.stopPropagation();
      close(true);
    }
  };
  const label = unread === 0 ? "Notifications" : `Notifications, ${unread} unread`;

  return (
    <div className="relative" onKeyDown={onKeyDown}>
      <button
        ref={button}
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={label}
        onClick={() => (open ? close(false) : setOpen(true))}
        className="inline-flex items-center gap-1 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-700 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700"
      >
        <span aria-hidden="true">🔔</span>
        <span aria-hidden="true" data-testid="notifications-count" className={unread > 0 ? "rounded-full bg-sky-700 px-1.5 text-xs font-semibold text-white" : "text-xs"}>
          {unread > 0 ? unread : ""}
        </span>
      </button>
      <div aria-live="polite" className="sr-only" data-testid="notifications-live">
        {latest ? `New notification: ${latest.title}. ${latest.message}` : ""}
      </div>
      {open && (
        <section
          id={panelId}
          aria-label="Notifications"
          className="absolute right-0 z-40 mt-2 w-80 rounded-md border border-slate-200 bg-white p-3 shadow-lg dark:border-slate-700 dark:bg-slate-900"
        >
          <h2 className="mb-2 text-sm font-semibold">Notifications</h2>
          {items.length === 0 ? (
            <p className="text-sm text-slate-700 dark:text-slate-300">Nothing yet. Tasks you start tell you here when they finish or need an answer.</p>
          ) : (
            <ul className="max-h-96 space-y-2 overflow-y-auto">
              {items.map((note) => (
                <li key={note.id} className="rounded border border-slate-200 p-2 text-sm dark:border-slate-700">
                  <p className="font-medium">
                    {fresh.has(note.id) && <span className="mr-1 rounded bg-sky-100 px-1 text-xs text-sky-900 dark:bg-sky-900 dark:text-sky-50">New</span>}
                    {note.title}
                  </p>
                  {note.message && <p className="text-slate-700 dark:text-slate-300">{note.message}</p>}
                  <p className="flex items-center justify-between text-xs text-slate-600 dark:text-slate-400">
                    <When at={note.at} kind="time" />
                    {note.link && (
                      <Link to={note.link} onClick={() => close(false)} className="text-sky-800 underline dark:text-sky-300">
                        Open<span className="sr-only">: {note.title}</span>
                      </Link>
                    )}
                  </p>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
