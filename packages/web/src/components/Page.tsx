/**
 * @module components/Page
 * A page's frame: its heading (one <h1> per page, for screen readers and axe), an optional line of actions,
 * and its content.
 */
import type { ReactNode } from "react";

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section aria-labelledby="page-title" className="space-y-4">
      <header className="flex flex-wrap items-center justify-between gap-3">
        <h1 id="page-title" className="text-xl font-semibold text-slate-900 dark:text-slate-50">
          {title}
        </h1>
        {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** A bordered panel grouping related content, with an optional heading. */
export function Panel({ title, children, className = "" }: { title?: string; children: ReactNode; className?: string }) {
  return (
    <section className={`rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-700 dark:bg-slate-900 ${className}`}>
      {title && <h2 className="mb-3 text-sm font-semibold text-slate-800 dark:text-slate-200">{title}</h2>}
      {children}
    </section>
  );
}
